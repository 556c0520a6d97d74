"""factory-boy factories for the accounts models."""

from __future__ import annotations

from typing import Any

import factory
from django.utils.text import slugify

from rapport.accounts.models import Membership, Organization, Team, User
from rapport.accounts.roles import Role
from rapport.core.principal import Principal

PASSWORD = "correct-horse-battery-staple"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Workspace {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    name = factory.Sequence(lambda n: f"User {n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance: User, create: bool, results: Any = None) -> None:
        if create:
            instance.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    org = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.SALES.value


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    org = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Team {n}")


def make_principal(org: Organization, role: Role | str = Role.ADMIN, *, email: str | None = None) -> Principal:
    """A member of `org` with `role`, as the Principal services take."""
    user = UserFactory.create(email=email) if email else UserFactory.create()
    membership = MembershipFactory.create(org=org, user=user, role=Role(role).value)
    return Principal.for_membership(membership)
