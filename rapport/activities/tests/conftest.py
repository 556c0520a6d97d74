"""Fixtures of the activities tests: a few contacts of the workspace reachable by id, email and phone."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.activities import services
from rapport.activities.models import Activity
from rapport.contacts.models import Company, Contact
from rapport.contacts.tests.factories import CompanyFactory, contact_with
from rapport.core.principal import Principal


@pytest.fixture
def company(org: Any) -> Company:
    return CompanyFactory.create(org=org, name="Acme Corp")


@pytest.fixture
def ada(org: Any, company: Company) -> Contact:
    return contact_with(org, email="ada@example.org", phone="+12025550143", first_name="Ada", company=company)


@pytest.fixture
def bob(org: Any) -> Contact:
    return contact_with(org, email="bob@example.org", phone="+12025550199", first_name="Bob")


def log(actor: Principal, **data: Any) -> Activity:
    """An activity created through the service (a note unless `kind` says otherwise)."""
    data.setdefault("kind", "note")
    if data["kind"] == "note":
        data.setdefault("body", "Spoke about the renewal.")
    return services.activity_create(actor=actor, data=data)
