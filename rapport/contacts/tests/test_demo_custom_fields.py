"""The demo workspace shows custom fields: defined once, with values of the right types."""

from __future__ import annotations

from django.core.management import call_command

from rapport.accounts.models import Organization
from rapport.contacts.demo import DEMO_CUSTOM_FIELDS
from rapport.contacts.models import Company, Contact
from rapport.core.customfields.types import TYPES, FieldType
from rapport.core.models import CustomField


def test_demo_defines_its_custom_fields_once_and_fills_them_with_valid_values(db):
    call_command("demo")
    call_command("demo")
    org = Organization.objects.get(name="Acme Demo")
    fields = {(f.entity, f.key): f for f in CustomField.objects.filter(org=org)}
    assert set(fields) == {(spec["entity"], spec["key"]) for spec in DEMO_CUSTOM_FIELDS}
    checked = 0
    for model, entity in ((Contact, "contact"), (Company, "company")):
        for record in model.objects.filter(org=org).exclude(custom={}):
            for key, value in record.custom.items():
                field = fields[(entity, key)]
                assert TYPES[FieldType(field.type)].clean(value, key, field) == value, (entity, key, value)
                checked += 1
    assert checked > 0
    assert Company.objects.filter(org=org).exclude(custom={}).count() == Company.objects.filter(org=org).count()
