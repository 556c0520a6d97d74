"""Merge fields: a sandboxed Django template renderer for email templates (and, later, campaigns).

Templates are written in Django's syntax — `{{ contact.first_name|default:"there" }}`,
`{% if company.name %}…{% else %}…{% endif %}` — and rendered by a dedicated `Engine` that can
reach nothing but the values it is given:

- no template loaders and no `load`: `{% include %}`, `{% extends %}`, `{% load %}`,
  `{% debug %}`, `{% url %}`, `{% csrf_token %}` … do not exist here (a syntax error);
- only the tags in `TAGS` and the filters in `FILTERS` (no `safe`, no `autoescape off`), so HTML
  output stays escaped when `autoescape=True`;
- the context is plain data only: nested mappings of strings, numbers, booleans and dates (a model
  instance or any other object is refused with TypeError: a programming error, not bad input);
- every variable of a template is checked before it renders: it must be a path of names through
  the given mappings. A path that steps into a value (`contact.first_name.upper`) or starts with
  an underscore is refused; a name that is not there renders as "" (`string_if_invalid`).

`validate(source)` is what saving a template calls: syntax, and every variable must be a field of
the catalogue (`FIELDS`, plus `contact.custom.<key>` / `company.custom.<key>`), so a typo is
caught when the template is saved rather than when an email goes out.
"""

from __future__ import annotations

import datetime
import logging
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.template import Context, Engine, Library, Template, TemplateSyntaxError, defaultfilters, defaulttags
from django.template.base import FilterExpression, TextNode, Token, TokenType, Variable, VariableNode
from django.template.defaulttags import CommentNode, IfNode

log = logging.getLogger(__name__)

MAX_SOURCE = 100_000

# Tags and filters a template may use. Everything else is unknown to the engine.
TAGS = ("if", "comment")
FILTERS = (
    "default",
    "default_if_none",
    "upper",
    "lower",
    "title",
    "capfirst",
    "date",
    "time",
    "truncatechars",
    "truncatewords",
    "yesno",
    "floatformat",
    "linebreaksbr",
)
# Words the `if` tag parses itself (after `if`, `elif` and `else`): not tags of their own.
_IF_WORDS = ("elif", "else", "endif", "endcomment")
# Names every Django context knows (in `{% if x == None %}`): constants, not fields.
_CONSTANTS = frozenset({"True", "False", "None"})


class MergeError(Exception):
    """A template that cannot be rendered: the message says what and where, for the person who wrote it."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"Line {line}: {message}" if line else message)
        self.message = str(self)


@dataclass(frozen=True)
class MergeField:
    """One field offered to template writers (the field picker and the help list these)."""

    name: str
    label: str
    example: str = ""


FIELDS: tuple[MergeField, ...] = (
    MergeField("contact.first_name", "Contact's first name", "Ada"),
    MergeField("contact.last_name", "Contact's last name", "Lovelace"),
    MergeField("contact.full_name", "Contact's full name", "Ada Lovelace"),
    MergeField("contact.email", "Contact's primary email", "ada@example.org"),
    MergeField("contact.phone", "Contact's primary phone", "+44 20 7946 0000"),
    MergeField("contact.job_title", "Contact's job title", "Engineer"),
    MergeField("contact.city", "Contact's city", "London"),
    MergeField("contact.country", "Contact's country", "United Kingdom"),
    MergeField("contact.company", "Name of the contact's company", "Analytical Engines Ltd"),
    MergeField("company.name", "Company name", "Analytical Engines Ltd"),
    MergeField("company.website", "Company website", "https://example.org"),
    MergeField("company.industry", "Company industry", "Manufacturing"),
    MergeField("company.city", "Company city", "London"),
    MergeField("sender.first_name", "Your first name", "Grace"),
    MergeField("sender.last_name", "Your last name", "Hopper"),
    MergeField("sender.full_name", "Your name", "Grace Hopper"),
    MergeField("sender.email", "Your email", "grace@example.com"),
    MergeField("today", 'Today\'s date (format it with |date, e.g. today|date:"j F Y")', "5 March 2025"),
)
FIELD_NAMES = frozenset(f.name for f in FIELDS)
# Custom fields: `<prefix><key>` with a custom field's key (checked for shape, not existence: a
# deleted field renders as "").
CUSTOM_PREFIXES = ("contact.custom.", "company.custom.")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _library() -> Library:
    library = Library()
    for name in TAGS:
        library.tags[name] = defaulttags.register.tags[name]
    for name in FILTERS:
        library.filters[name] = defaultfilters.register.filters[name]
    return library


class _SandboxEngine(Engine):
    """An Engine whose only built-ins are the allowlisted tags and filters (none of Django's
    default libraries: no `load`, `include`, `extends`, `debug`, `url`, `csrf_token`, `safe` …)."""

    default_builtins: list[str] = []

    def get_template_builtins(self, builtins: list[str]) -> list[Library]:
        return [_library()]


ENGINE = _SandboxEngine(
    dirs=[], app_dirs=False, loaders=[], libraries={}, debug=False, string_if_invalid="", autoescape=True
)


# --- context -----------------------------------------------------------------------------------

_SCALARS = (str, int, float, Decimal, bool, datetime.date, datetime.time, type(None))


class Record:
    """A mapping of merge values as the template sees it: item lookup only.

    It has no public attributes or methods, so Django's fallback from `record[name]` to
    `getattr(record, name)` finds nothing (a missing name renders as ""), and it prints as "".
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = {str(k): _freeze(v) for k, v in data.items()}

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __bool__(self) -> bool:
        return any(bool(v) for v in self._data.values())

    def __str__(self) -> str:
        return ""


def _freeze(value: Any) -> Any:
    if isinstance(value, Record):
        return value
    if isinstance(value, Mapping):
        return Record(value)
    if isinstance(value, _SCALARS):
        return value
    raise TypeError(f"A merge context holds plain values only, not {type(value).__name__}.")


# --- checking a template's variables ----------------------------------------------------------


def _expressions(node: Any) -> Iterator[FilterExpression]:
    """Every filter expression of an `if` condition (a tree of operators over literals)."""
    if node is None:
        return
    value = getattr(node, "value", None)
    if isinstance(value, FilterExpression):
        yield value
    for side in ("first", "second"):
        yield from _expressions(getattr(node, side, None))


def _paths(nodes: Any) -> Iterator[tuple[str, ...]]:
    """The lookup path of every variable (and variable filter argument) of a compiled template."""
    for node in nodes:
        expressions: list[FilterExpression] = []
        if isinstance(node, VariableNode):
            expressions.append(node.filter_expression)
        elif isinstance(node, IfNode):
            for condition, nodelist in node.conditions_nodelists:
                expressions.extend(_expressions(condition))
                yield from _paths(nodelist)
        elif not isinstance(node, TextNode | CommentNode):
            raise MergeError(f"“{type(node).__name__}” is not allowed in a template.")
        for expression in expressions:
            variables = [expression.var] + [arg for _, args in expression.filters for lookup, arg in args if lookup]
            for var in variables:
                if isinstance(var, Variable) and var.lookups is not None and var.var not in _CONSTANTS:
                    yield tuple(var.lookups)


def _line_of(exc: TemplateSyntaxError) -> int | None:
    token = getattr(exc, "token", None)
    return token.lineno if isinstance(token, Token) else None


def _syntax_message(exc: TemplateSyntaxError) -> str:
    token = getattr(exc, "token", None)
    text = str(exc)
    if isinstance(token, Token) and token.token_type == TokenType.BLOCK:
        command = token.contents.split()[0] if token.contents.split() else ""
        if command and command not in TAGS and command not in _IF_WORDS:
            allowed = ", ".join(f"{{% {t} %}}" for t in TAGS)
            return f"“{{% {command} %}}” is not allowed in templates; you may use {allowed}."
    if text.startswith("Invalid filter:"):
        name = text.split("'")[1] if "'" in text else text
        return f"The filter “{name}” is not allowed; you may use: {', '.join(FILTERS)}."
    if "may not begin with underscores" in text:
        return "Names may not begin with an underscore."
    return text


def _compile(source: str) -> Template:
    if not isinstance(source, str):
        raise MergeError("A template is text.")
    if len(source) > MAX_SOURCE:
        raise MergeError(f"A template may hold at most {MAX_SOURCE} characters.")
    try:
        return ENGINE.from_string(source)
    except TemplateSyntaxError as exc:
        raise MergeError(_syntax_message(exc), line=_line_of(exc)) from None
    except (ValueError, TypeError, RecursionError) as exc:  # malformed input the parser did not expect
        raise MergeError(f"The template could not be read: {exc}") from None


def _field_allowed(path: tuple[str, ...], names: Collection[str], prefixes: Collection[str]) -> bool:
    name = ".".join(path)
    if name in names:
        return True
    return any(name.startswith(prefix) and _KEY.match(name[len(prefix) :]) for prefix in prefixes)


def validate(source: str, *, names: Collection[str] = FIELD_NAMES, prefixes: Collection[str] = CUSTOM_PREFIXES) -> None:
    """Check a template before it is saved: syntax, allowed tags and filters, and that every
    variable is an offered field. Raises MergeError with a message for the writer."""
    template = _compile(source)
    for path in _paths(template.nodelist):
        if not _field_allowed(path, names, prefixes):
            raise MergeError(f"“{{{{ {'.'.join(path)} }}}}” is not a merge field.")


def _check_against(path: tuple[str, ...], context: Record) -> None:
    current: Any = context
    for depth, name in enumerate(path):
        if name.startswith("_"):
            raise MergeError("Names may not begin with an underscore.")
        if not isinstance(current, Record):
            raise MergeError(f"“{'.'.join(path)}” is not a merge field: “{'.'.join(path[:depth])}” has no fields.")
        if name not in current:
            return  # renders as ""
        current = current[name]


class MergeTemplate:
    """A template compiled once, rendered against many contexts (a campaign renders thousands)."""

    def __init__(self, source: str) -> None:
        self.template = _compile(source)
        self.paths = frozenset(_paths(self.template.nodelist))

    def render(self, context: Mapping[str, Any], *, autoescape: bool = False) -> str:
        record = _freeze(dict(context))
        for path in self.paths:
            _check_against(path, record)
        # Names used by the template but not given are set to "" so that the lookup never falls
        # back to attributes of Django's Context object.
        data = {}
        for name in {path[0] for path in self.paths}:
            data[name] = record[name] if name in record else ""  # noqa: SIM401  (Record has no .get, on purpose)
        try:
            return self.template.render(Context(data, autoescape=autoescape))
        except MergeError:
            raise
        except Exception as exc:  # a filter refusing an odd value: the writer's problem, not a crash
            log.info("merge template failed to render: %s", exc)
            raise MergeError(f"The template could not be rendered: {exc}") from None


def render(source: str, context: Mapping[str, Any], *, autoescape: bool = False) -> str:
    """Render `source` with `context` (plain values only). `autoescape=True` for HTML output,
    False for plain text and Markdown. Raises MergeError on a template that cannot render."""
    return MergeTemplate(source).render(context, autoescape=autoescape)
