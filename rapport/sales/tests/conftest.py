"""Fixtures of the sales tests: a pipeline with its stages, made directly (the pipeline services
have their own tests), and contacts and companies to link deals to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from rapport.contacts.models import Company, Contact
from rapport.contacts.tests.factories import CompanyFactory, contact_with
from rapport.sales.models import Pipeline, Stage, StageKind

# (name, probability, kind, rotting days)
STAGES = [
    ("Qualified", 10, StageKind.OPEN, 14),
    ("Proposal", 40, StageKind.OPEN, 21),
    ("Negotiation", 70, StageKind.OPEN, 14),
    ("Won", 100, StageKind.WON, None),
    ("Lost", 0, StageKind.LOST, None),
]


@dataclass
class PipelineFixture:
    pipeline: Pipeline
    stages: dict[str, Stage]


def make_pipeline(org: Any, name: str = "New business") -> PipelineFixture:
    pipeline = Pipeline.objects.create(org=org, name=name)
    stages = {
        stage_name: Stage.objects.create(
            org=org, pipeline=pipeline, name=stage_name, position=i, probability=p, kind=kind, rotting_days=rot
        )
        for i, (stage_name, p, kind, rot) in enumerate(STAGES)
    }
    return PipelineFixture(pipeline=pipeline, stages=stages)


@pytest.fixture
def sales_pipeline(org: Any) -> PipelineFixture:
    return make_pipeline(org)


@pytest.fixture
def other_pipeline(other_org: Any) -> PipelineFixture:
    """A pipeline of workspace B."""
    return make_pipeline(other_org, "B's pipeline")


@pytest.fixture
def company(org: Any) -> Company:
    return CompanyFactory.create(org=org, name="Acme Corp")


@pytest.fixture
def ada(org: Any, company: Company) -> Contact:
    return contact_with(org, email="ada@example.org", first_name="Ada", company=company)
