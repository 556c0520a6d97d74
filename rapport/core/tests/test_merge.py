"""The merge-field sandbox: Django syntax, only the allowlisted tags and filters, only the values given."""

from __future__ import annotations

import datetime

import pytest

from rapport.core import merge

CONTEXT = {
    "contact": {"first_name": "", "last_name": "O'Brien <b>", "custom": {"tier": "Gold"}},
    "company": {"name": "Acme & Sons"},
    "sender": {"full_name": "Grace"},
    "today": datetime.date(2025, 3, 5),
}


def test_a_default_fills_an_empty_field():
    assert merge.render('Hi {{ contact.first_name|default:"there" }},', CONTEXT) == "Hi there,"
    assert merge.render('Hi {{ contact.first_name|default:"there" }},', {"contact": {"first_name": "Ada"}}) == "Hi Ada,"


def test_plain_text_is_not_escaped_and_html_is():
    source = "{{ contact.last_name }} at {{ company.name }}"
    assert merge.render(source, CONTEXT) == "O'Brien <b> at Acme & Sons"
    assert merge.render(source, CONTEXT, autoescape=True) == "O&#x27;Brien &lt;b&gt; at Acme &amp; Sons"


def test_conditions_dates_and_custom_fields_render():
    source = (
        "{% if contact.first_name %}A{% elif company.name %}B{% else %}C{% endif %} "
        '{{ today|date:"j F Y" }} {{ contact.custom.tier|upper }}{# a note #}'
    )
    assert merge.render(source, CONTEXT) == "B 5 March 2025 GOLD"


def test_missing_values_render_as_nothing():
    assert merge.render("[{{ contact.city }}][{{ nobody.name }}][{{ contact.custom.gone }}]", CONTEXT) == "[][][]"


@pytest.mark.parametrize(
    ("source", "needle"),
    [
        ("{% debug %}", "{% debug %}"),
        ("{% load static %}", "{% load %}"),
        ('{% include "web/base.html" %}', "{% include %}"),
        ('{% extends "web/base.html" %}', "{% extends %}"),
        ('{% ssi "/etc/passwd" %}', "{% ssi %}"),
        ("{% templatetag openblock %}", "{% templatetag %}"),
        ('{% url "accounts:login" %}', "{% url %}"),
        ("{% csrf_token %}", "{% csrf_token %}"),
        ("{% autoescape off %}{{ contact.last_name }}{% endautoescape %}", "{% autoescape %}"),
        ("{% for x in contact %}{% endfor %}", "{% for %}"),
        ("{{ contact.last_name|safe }}", "“safe” is not allowed"),
        ("{{ contact.last_name|pprint }}", "“pprint” is not allowed"),
    ],
)
def test_tags_and_filters_outside_the_allowlist_are_a_clear_error(source, needle):
    with pytest.raises(merge.MergeError) as exc:
        merge.render(source, CONTEXT)
    assert needle in str(exc.value)
    with pytest.raises(merge.MergeError):
        merge.validate(source)


def test_a_syntax_error_names_its_line():
    with pytest.raises(merge.MergeError) as exc:
        merge.validate("Hello\n\n{% if contact.first_name %}no end")
    assert exc.value.line == 3 and str(exc.value).startswith("Line 3:")


@pytest.mark.parametrize(
    "source",
    ["{{ contact.__class__ }}", "{{ contact.first_name.__class__ }}", "{{ contact._data }}", "{{ __builtins__ }}"],
)
def test_underscored_names_are_refused(source):
    with pytest.raises(merge.MergeError, match="underscore"):
        merge.render(source, CONTEXT)


def test_python_attributes_of_values_are_out_of_reach():
    # Methods of the values' Python objects: stepping into a value is an error.
    for source in ("{{ contact.last_name.upper }}", "{{ today.year }}", "{{ company.name.split }}"):
        with pytest.raises(merge.MergeError, match="is not a merge field"):
            merge.render(source, CONTEXT)
    # Methods of the mappings, and the attributes of Django's own Context, render nothing.
    source = "[{{ contact.items }}{{ contact.keys }}{{ template.engine }}{{ dicts }}{{ render_context }}{{ contact }}]"
    assert merge.render(source, CONTEXT) == "[]"
    # A filter argument is a variable like any other.
    with pytest.raises(merge.MergeError):
        merge.render("{{ contact.city|default:contact.last_name.lower }}", CONTEXT)


def test_the_context_takes_plain_values_only():
    with pytest.raises(TypeError):
        merge.render("{{ contact.x }}", {"contact": {"x": object()}})


def test_validate_accepts_the_catalogue_and_custom_keys_and_refuses_unknown_fields():
    merge.validate(" ".join(f"{{{{ {f.name} }}}}" for f in merge.FIELDS))
    merge.validate("{{ contact.custom.tier }} {{ company.custom.size_band|default:'?' }}")
    for source in ("{{ contact.firstname }}", "{{ contact }}", "{{ contact.custom.Bad-Key }}", "{{ deal.name }}"):
        with pytest.raises(merge.MergeError):
            merge.validate(source)


def test_constants_in_conditions_are_not_fields():
    merge.validate("{% if contact.first_name == None %}x{% endif %}")
    assert merge.render("{% if contact.first_name == '' %}empty{% endif %}", CONTEXT) == "empty"


def test_a_compiled_template_renders_many_contexts():
    template = merge.MergeTemplate("Hi {{ contact.first_name|default:'you' }}")
    assert [template.render({"contact": {"first_name": n}}) for n in ("Ada", "", "Bob")] == [
        "Hi Ada",
        "Hi you",
        "Hi Bob",
    ]
