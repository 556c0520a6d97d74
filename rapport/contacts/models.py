"""People (Contact) and accounts (Company), with their emails, phones and tags.

Primary email and phone are denormalised onto the contact (kept by the services) so lists sort
and filter on them without joins. Deleting moves a record to the trash (`deleted_at`); lists,
search, the API and exports only see `objects.alive()`.
"""

from __future__ import annotations

from datetime import date

from django.db import models

from rapport.contacts import choices
from rapport.contacts.normalize import age as age_of
from rapport.core.models import OrgScopedModel, OwnedModel


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
    annual_revenue = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    revenue_currency = models.CharField(max_length=3, blank=True, default="")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="subsidiaries")
    phone = models.CharField(max_length=20, blank=True, default="", help_text="E.164")
    description = models.TextField(blank=True, default="")
    tags = models.ManyToManyField(Tag, blank=True, related_name="companies")
    custom = models.JSONField(default=dict, blank=True)
    external_id = models.CharField(max_length=100, null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = TrashQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "external_id"], name="company_unique_external_id"),
        ]
        indexes = [
            models.Index(fields=["org", "deleted_at", "name", "id"], name="company_org_name"),
            models.Index(fields=["org", "deleted_at", "-created_at", "-id"], name="company_org_created"),
            models.Index(fields=["org", "deleted_at", "-updated_at", "-id"], name="company_org_updated"),
            models.Index(fields=["org", "domain"], name="company_org_domain"),
            models.Index(fields=["org", "owner", "deleted_at"], name="company_org_owner"),
            models.Index(fields=["org", "industry", "deleted_at"], name="company_org_industry"),
            models.Index(fields=["org", "country", "deleted_at"], name="company_org_country"),
        ]

    def __str__(self) -> str:
        return self.name


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
            models.Index(fields=["org", "deleted_at", "last_name", "first_name", "id"], name="contact_org_name"),
            models.Index(fields=["org", "deleted_at", "-created_at", "-id"], name="contact_org_created"),
            models.Index(fields=["org", "deleted_at", "-updated_at", "-id"], name="contact_org_updated"),
            models.Index(fields=["org", "email"], name="contact_org_email"),
            models.Index(fields=["org", "phone"], name="contact_org_phone"),
            models.Index(fields=["org", "owner", "deleted_at"], name="contact_org_owner"),
            models.Index(fields=["org", "team", "deleted_at"], name="contact_org_team"),
            models.Index(fields=["org", "company", "deleted_at"], name="contact_org_company"),
            models.Index(fields=["org", "lifecycle_stage", "deleted_at"], name="contact_org_stage"),
            models.Index(fields=["org", "country", "deleted_at"], name="contact_org_country"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or f"Contact {self.pk}"

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
