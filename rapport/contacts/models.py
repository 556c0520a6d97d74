"""People (Contact) and accounts (Company), with their emails, phones and tags.

Primary email and phone are denormalised onto the contact, and tag names onto contacts and
companies (`tag_names`, kept by every writer of `tags` through `set_tag_names`), so a list page is
one query: no joins or prefetches for them. Deleting moves a record to the trash (`deleted_at`);
lists, search, the API and exports only see `objects.alive()`.

Indexes (see docs/performance.md): every sortable list field has `(org, field, id)` and every
common filter `(org, filter, default sort…)`, most of them partial on the living rows (`deleted_at IS
NULL`, which both SQLite and PostgreSQL can then walk in order). Text filters compare `UPPER(column)`
(see `rapport.core.filtering`), so those indexes are on `UPPER(column)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper

from rapport.contacts import choices
from rapport.core.models import OrgScopedModel, OwnedModel
from rapport.core.normalize import age as age_of

ALIVE = Q(deleted_at__isnull=True)


def _alive_index(name: str, *fields: str) -> models.Index:
    """A partial index on the living rows: `(org, *fields)`, a field "-x" descending."""
    return models.Index(fields=["org", *fields], name=name, condition=ALIVE)


def _upper_index(name: str, column: str, *fields: str) -> models.Index:
    """`(org, UPPER(column), *fields)` for case-insensitive equality filters in a sort order.

    Not partial: PostgreSQL estimates `UPPER(column) = …` from the statistics of an index on that
    expression only when the index is not partial (without them it guesses 0.5 % of the rows, and
    walks a sort's index instead of this one, for a city 20 times rarer than that).
    """
    order = [F(f[1:]).desc() if f.startswith("-") else F(f) for f in fields]
    return models.Index(F("org"), Upper(column), *order, name=name)


def _trash_index(name: str) -> models.Index:
    """The trash, most recently deleted first."""
    return models.Index(fields=["org", "-deleted_at", "-id"], name=name, condition=Q(deleted_at__isnull=False))


def set_tag_names(record: Contact | Company, tags: Iterable[Tag | str]) -> list[str]:
    """Store the names of `tags` on the record's `tag_names` (in the order lists show them) and return them.

    Every writer of a contact's or company's tags calls this (or writes the same list), so lists
    and the API read tag names without a query.
    """
    names = tag_names_of(tags)
    type(record).objects.filter(pk=record.pk).update(tag_names=names)
    record.tag_names = names
    return names


def tag_names_of(tags: Iterable[Tag | str]) -> list[str]:
    """Tag names as `tag_names` stores them: unique, sorted without regard to case."""
    names = {t if isinstance(t, str) else t.name for t in tags}
    return sorted(names, key=lambda n: (n.casefold(), n))


class TrashQuerySet(models.QuerySet):
    def alive(self) -> TrashQuerySet:
        return self.filter(deleted_at__isnull=True)

    def trashed(self) -> TrashQuerySet:
        return self.filter(deleted_at__isnull=False)


class Tag(OrgScopedModel):
    name = models.CharField(max_length=60)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "name"], name="tag_unique_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Address(models.Model):
    street = models.CharField(max_length=200, blank=True, default="")
    city = models.CharField(max_length=100, blank=True, default="")
    region = models.CharField(max_length=100, blank=True, default="")
    postal_code = models.CharField(max_length=20, blank=True, default="")
    country = models.CharField(max_length=2, blank=True, default="", help_text="ISO 3166-1 alpha-2")

    class Meta:
        abstract = True


class Company(OwnedModel, Address):
    name = models.CharField(max_length=200)
    website = models.URLField(max_length=300, blank=True, default="")
    domain = models.CharField(max_length=253, blank=True, default="", help_text="Primary web/email domain")
    email_domains = models.JSONField(default=list, blank=True)
    industry = models.CharField(max_length=40, blank=True, default="", choices=choices.INDUSTRIES)
    size = models.CharField(max_length=20, blank=True, default="", choices=choices.COMPANY_SIZES)
    support_tier = models.CharField(max_length=20, blank=True, default="", choices=choices.SUPPORT_TIERS)
    annual_revenue = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    revenue_currency = models.CharField(max_length=3, blank=True, default="")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="subsidiaries")
    phone = models.CharField(max_length=20, blank=True, default="", help_text="E.164")
    description = models.TextField(blank=True, default="")
    tags = models.ManyToManyField(Tag, blank=True, related_name="companies")
    tag_names = models.JSONField(default=list, blank=True, editable=False, help_text="Names of `tags`, sorted")
    custom = models.JSONField(default=dict, blank=True)
    external_id = models.CharField(max_length=100, null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = TrashQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "external_id"], name="company_unique_external_id"),
        ]
        indexes = [
            # The default sort (name), the other sorts, and the common filters with the default sort.
            _alive_index("company_org_name", "name", "id"),
            _alive_index("company_created", "-created_at", "-id"),
            _alive_index("company_updated", "-updated_at", "-id"),
            models.Index(fields=["org", "domain", "id"], name="company_org_domain"),
            _alive_index("company_industry", "industry", "id"),
            _alive_index("company_country", "country", "id"),
            _alive_index("company_city", "city", "id"),
            _alive_index("company_industry_name", "industry", "name", "id"),
            _upper_index("company_country_name", "country", "name", "id"),
            _upper_index("company_city_name", "city", "name", "id"),
            _alive_index("company_owner_name", "owner", "name", "id"),
            _alive_index("company_team_name", "team", "name", "id"),
            _trash_index("company_trash"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def live_parent(self) -> Company | None:
        """The parent company, unless it is in the trash."""
        parent = self.parent
        return parent if parent is not None and parent.deleted_at is None else None


class Contact(OwnedModel, Address):
    first_name = models.CharField(max_length=100, blank=True, default="")
    last_name = models.CharField(max_length=100, blank=True, default="")
    full_name = models.CharField(max_length=201, editable=False, default="")
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts")
    job_title = models.CharField(max_length=150, blank=True, default="")
    profession = models.CharField(max_length=150, blank=True, default="")
    birth_date = models.DateField(null=True, blank=True)
    gender = models.CharField(max_length=20, choices=choices.GENDERS, default="unspecified")
    language = models.CharField(max_length=2, blank=True, default="", help_text="ISO 639-1")
    time_zone = models.CharField(max_length=64, blank=True, default="")
    lifecycle_stage = models.CharField(max_length=30, choices=choices.LIFECYCLE_STAGES, default="lead")
    lead_status = models.CharField(max_length=30, choices=choices.LEAD_STATUSES, blank=True, default="")
    lead_source = models.CharField(max_length=30, choices=choices.LEAD_SOURCES, blank=True, default="")
    email = models.CharField(max_length=254, blank=True, default="", editable=False, help_text="Primary email")
    phone = models.CharField(max_length=20, blank=True, default="", editable=False, help_text="Primary phone, E.164")
    social_profiles = models.JSONField(default=dict, blank=True)
    do_not_email = models.BooleanField(default=False)
    do_not_call = models.BooleanField(default=False)
    do_not_sms = models.BooleanField(default=False)
    notes = models.TextField(blank=True, default="")
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts")
    tag_names = models.JSONField(default=list, blank=True, editable=False, help_text="Names of `tags`, sorted")
    custom = models.JSONField(default=dict, blank=True)
    external_id = models.CharField(max_length=100, null=True, blank=True)
    last_contacted_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = TrashQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "external_id"], name="contact_unique_external_id"),
        ]
        indexes = [
            # The default sort (newest first), the other sorts, and the common filters with the default sort.
            _alive_index("contact_created", "-created_at", "-id"),
            _alive_index("contact_updated", "-updated_at", "-id"),
            _alive_index("contact_first_name", "first_name", "id"),
            _alive_index("contact_last_name", "last_name", "id"),
            _alive_index("contact_full_name", "full_name", "id"),
            models.Index(fields=["org", "email", "id"], name="contact_org_email"),
            models.Index(fields=["org", "phone"], name="contact_org_phone"),
            _alive_index("contact_stage", "lifecycle_stage", "id"),
            _alive_index("contact_country", "country", "id"),
            _alive_index("contact_city", "city", "id"),
            _alive_index("contact_stage_created", "lifecycle_stage", "-created_at", "-id"),
            _upper_index("contact_country_created", "country", "-created_at", "-id"),
            _upper_index("contact_city_created", "city", "-created_at", "-id"),
            _alive_index("contact_owner_created", "owner", "-created_at", "-id"),
            _alive_index("contact_team_created", "team", "-created_at", "-id"),
            _alive_index("contact_company_created", "company", "-created_at", "-id"),
            _trash_index("contact_trash"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or f"Contact {self.pk}"

    @property
    def live_company(self) -> Company | None:
        """The company, unless it is in the trash (the link stays, so a restore brings it back)."""
        company = self.company
        return company if company is not None and company.deleted_at is None else None

    @property
    def age(self) -> int | None:
        return age_of(self.birth_date) if isinstance(self.birth_date, date) else None


class ContactEmail(OrgScopedModel):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="emails")
    email = models.CharField(max_length=254)
    kind = models.CharField(max_length=20, choices=choices.EMAIL_KINDS, default="work")
    is_primary = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["org", "email"], name="contactemail_org_email")]
        ordering = ["-is_primary", "id"]

    def __str__(self) -> str:
        return self.email


class ContactPhone(OrgScopedModel):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(max_length=20, help_text="E.164")
    kind = models.CharField(max_length=20, choices=choices.PHONE_KINDS, default="mobile")
    is_primary = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["org", "number"], name="contactphone_org_number")]
        ordering = ["-is_primary", "id"]

    def __str__(self) -> str:
        return self.number


class SavedView(OrgScopedModel):
    """A named list setup (filters, sort, columns) of one user, optionally shared with one of their teams."""

    owner = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    entity = models.CharField(max_length=20, choices=[("contact", "Contacts"), ("company", "Companies")])
    conditions = models.JSONField(default=list, blank=True)
    sort = models.CharField(max_length=60, blank=True, default="")
    columns = models.JSONField(default=list, blank=True)
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["org", "entity", "owner"], name="savedview_org_entity_owner")]
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name
