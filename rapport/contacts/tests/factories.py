"""factory-boy factories for contacts, companies and their emails, phones and tags.

They write rows directly (no services, no events): tests that are about the services call the
services themselves. `contact_with(...)` builds a contact with its primary email and phone kept
in step with the denormalised `email` / `phone` / `tag_names` columns, as the services keep them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import factory

from rapport.accounts.models import Organization
from rapport.contacts.models import Company, Contact, ContactEmail, ContactPhone, Tag, set_tag_names
from rapport.testing.factories import OrganizationFactory


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    org = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"tag-{n}")


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    org = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Company {n:04d}")
    domain = factory.Sequence(lambda n: f"company{n}.example")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    org = factory.SubFactory(OrganizationFactory)
    first_name = factory.Sequence(lambda n: f"First{n:04d}")
    last_name = factory.Sequence(lambda n: f"Last{n:04d}")
    full_name = factory.LazyAttribute(lambda o: f"{o.first_name} {o.last_name}".strip())


class ContactEmailFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactEmail

    contact = factory.SubFactory(ContactFactory)
    org = factory.LazyAttribute(lambda o: o.contact.org)
    email = factory.Sequence(lambda n: f"person{n}@example.org")
    is_primary = True


class ContactPhoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactPhone

    contact = factory.SubFactory(ContactFactory)
    org = factory.LazyAttribute(lambda o: o.contact.org)
    number = "+12025550143"
    is_primary = True


def contact_with(
    org: Organization,
    *,
    email: str | None = None,
    phone: str | None = None,
    tags: Iterable[str] = (),
    **fields: Any,
) -> Contact:
    """A contact of `org` with an optional primary email and phone and tags (by name)."""
    contact = ContactFactory.create(org=org, email=email or "", phone=phone or "", **fields)
    if email:
        ContactEmailFactory.create(contact=contact, email=email)
    if phone:
        ContactPhoneFactory.create(contact=contact, number=phone)
    for name in tags:
        tag, _ = Tag.objects.get_or_create(org=org, name=name)
        contact.tags.add(tag)
    if tags:
        set_tag_names(contact, contact.tags.all())  # as the services keep it
    return contact


def api_error(resp: Any, status: int) -> dict[str, Any]:
    """The error of an API answer, after checking its status and the one error shape."""
    assert resp.status_code == status, (resp.status_code, resp.content[:500])
    body = resp.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert set(err) == {"code", "message", "fields"}, err
    assert isinstance(err["fields"], dict)
    assert all(isinstance(v, str) and v for v in err["fields"].values()), err
    return dict(err)
