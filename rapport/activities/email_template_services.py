"""Writes and reads of email templates, and rendering them for one contact. The API and pages share these.

Access (kept deliberately simple): every template is shared with the whole workspace.
- Any member may list, read, preview and render templates (read-only API tokens too).
- Members whose role may write activities (everyone but viewers) may create templates; a new
  template is owned by its creator.
- Its owner may change or delete a template, and so may members who manage the workspace's
  settings (admins); others get PermissionDenied.

Subject and body are validated as merge templates (rapport.core.merge.validate) when saved: a
syntax error, a forbidden tag or an unknown merge field is a ValidationFailed on that field and
nothing is saved. A subject is one line: CR and LF are refused on save and, after rendering,
any line break a merge value might bring is turned into a space (no header injection).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from rapport.accounts.roles import Entity, Mode, Perm
from rapport.activities.email_templates import merge_context
from rapport.activities.models import EmailTemplate
from rapport.contacts.cleaning import FieldErrors
from rapport.contacts.models import Company, Contact
from rapport.core import merge
from rapport.core.errors import NotFound, PermissionDenied, StaleVersion, ValidationFailed
from rapport.core.events import diff, record_event
from rapport.core.principal import Principal

FIELDS = {"name", "subject", "body"}
NAME_MAX = 100
SUBJECT_MAX = 200
BODY_MAX = 50_000
SNAPSHOT = ("name", "subject", "body", "owner_id")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]")


def _text(value: Any, name: str, max_length: int, errors: FieldErrors, *, required: bool = False) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add(name, "This field is required.")
        return ""
    if not isinstance(value, str) or "\x00" in value:
        errors.add(name, "Enter text.")
        return ""
    if len(value) > max_length:
        errors.add(name, f"At most {max_length} characters.")
    return value


def _template_text(value: str, name: str, errors: FieldErrors) -> None:
    if name not in errors.fields and value:
        try:
            merge.validate(value)
        except merge.MergeError as exc:
            errors.add(name, exc.message)


def clean_sources(data: Mapping[str, Any], errors: FieldErrors) -> dict[str, str]:
    """Subject and body of `data` (those present) as templates, errors recorded on their fields."""
    values: dict[str, str] = {}
    if "subject" in data:
        subject = _text(data["subject"], "subject", SUBJECT_MAX, errors).strip()
        if _LINE_BREAKS.search(subject):
            errors.add("subject", "A subject is one line: no line breaks.")
        _template_text(subject, "subject", errors)
        values["subject"] = subject
    if "body" in data:
        body = _text(data["body"], "body", BODY_MAX, errors).replace("\r\n", "\n")
        _template_text(body, "body", errors)
        values["body"] = body
    return values


def _clean(actor: Principal, data: Mapping[str, Any], instance: EmailTemplate | None) -> dict[str, Any]:
    errors = FieldErrors()
    for name in sorted(set(data) - FIELDS):
        errors.add(name, "Unknown field.")
    values: dict[str, Any] = {}
    if "name" in data or instance is None:
        name = " ".join(_text(data.get("name"), "name", NAME_MAX, errors, required=True).split())
        if name and "name" not in errors.fields and _name_taken(actor, name, instance):
            errors.add("name", f"A template named “{name}” already exists.")
        values["name"] = name
    values.update(clean_sources(data, errors))
    errors.raise_if_any()
    return values


def _name_taken(actor: Principal, name: str, instance: EmailTemplate | None) -> bool:
    qs = _live(actor).annotate(lower_name=Lower("name")).filter(lower_name=name.lower())
    if instance is not None:
        qs = qs.exclude(pk=instance.pk)
    return qs.exists()


def _duplicate(name: str) -> ValidationFailed:
    message = f"A template named “{name}” already exists."
    return ValidationFailed(
        "validation_error", f"Some fields are not valid — name: {message}", fields={"name": message}
    )


def _snapshot(template: EmailTemplate) -> dict[str, Any]:
    return {name: getattr(template, name) for name in SNAPSHOT}


def can_create(actor: Principal) -> bool:
    return actor.can(Entity.ACTIVITY, Mode.WRITE)


def can_edit(actor: Principal, template: EmailTemplate) -> bool:
    """The owner, or a member who manages settings — with a role (and token) that may write."""
    if template.org_id != actor.org_id or not can_create(actor):
        return False
    return template.owner_id == actor.user_id or actor.has_perm(Perm.MANAGE_SETTINGS)


def _require_edit(actor: Principal, template: EmailTemplate) -> None:
    if template.org_id != actor.org_id:
        raise NotFound("not_found", "No such email template.")
    if not can_edit(actor, template):
        raise PermissionDenied("permission_denied", "Only the template's owner or an admin may change it.")


@transaction.atomic
def email_template_create(*, actor: Principal, data: Mapping[str, Any]) -> EmailTemplate:
    """Create a template owned by the actor (name required; subject and body validated as merge
    templates). Records `email_template.created`."""
    if not can_create(actor):
        raise PermissionDenied()
    values = _clean(actor, data, None)
    try:
        with transaction.atomic():
            template = EmailTemplate.objects.create(
                org_id=actor.org_id, created_by=actor.user, owner=actor.user, **values
            )
    except IntegrityError:  # a concurrent create took the name
        raise _duplicate(values["name"]) from None
    record_event(actor, "email_template.created", template, diff({}, _snapshot(template)))
    return template


@transaction.atomic
def email_template_update(
    *, actor: Principal, template: EmailTemplate, data: Mapping[str, Any], expected_version: int | None
) -> EmailTemplate:
    """Change the name, subject or body; refuses a stale version. Records `email_template.updated`
    when anything changed."""
    _require_edit(actor, template)
    before = _snapshot(template)
    values = _clean(actor, data, template)
    qs = EmailTemplate.objects.filter(pk=template.pk, deleted_at__isnull=True)
    if expected_version is not None:
        qs = qs.filter(version=expected_version)
    try:
        with transaction.atomic():
            updated = qs.update(version=F("version") + 1, updated_at=timezone.now(), **values)
    except IntegrityError:
        raise _duplicate(values["name"]) from None
    if not updated:
        raise StaleVersion()
    template = EmailTemplate.objects.select_related("owner").get(pk=template.pk)
    changes = diff(before, _snapshot(template))
    if changes:
        record_event(actor, "email_template.updated", template, changes)
    return template


@transaction.atomic
def email_template_delete(*, actor: Principal, template: EmailTemplate) -> None:
    """Move a template to the trash (its name becomes free). Records `email_template.deleted`."""
    _require_edit(actor, template)
    now = timezone.now()
    if EmailTemplate.objects.filter(pk=template.pk, deleted_at__isnull=True).update(
        deleted_at=now, version=F("version") + 1
    ):
        record_event(actor, "email_template.deleted", template, {"deleted_at": [None, now.isoformat()]})


# --- reads ---------------------------------------------------------------------------------------


def _live(actor: Principal) -> QuerySet[EmailTemplate]:
    return EmailTemplate.objects.filter(org_id=actor.org_id, deleted_at__isnull=True)


def email_template_list(*, actor: Principal, q: str | None = None) -> QuerySet[EmailTemplate]:
    """The workspace's live templates (any member sees them all), by name; one query with owners.
    `sort_name` (the lower-cased name) is annotated for the cursor ordering."""
    qs = _live(actor).select_related("owner").annotate(sort_name=Lower("name"))
    if q and q.strip():
        qs = qs.filter(name__icontains=q.strip())
    return qs.order_by("sort_name", "id")


def email_template_get(*, actor: Principal, template_id: object, mode: Mode = Mode.READ) -> EmailTemplate:
    """One live template of the workspace; NotFound otherwise. With mode=WRITE, PermissionDenied
    unless the actor may change it."""
    try:
        pk = int(str(template_id))
    except ValueError:
        raise NotFound("not_found", "No such email template.") from None
    template = _live(actor).select_related("owner").filter(pk=pk).first()
    if template is None:
        raise NotFound("not_found", "No such email template.")
    if mode is Mode.WRITE:
        _require_edit(actor, template)
    return template


# --- rendering -----------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(_LINE_BREAKS.sub(" ", text).split())


def _render(source: str, context: Mapping[str, Any], field: str) -> str:
    try:
        return merge.render(source, context)
    except merge.MergeError as exc:
        raise ValidationFailed(
            "merge_error", f"The {field} cannot be rendered — {exc.message}", fields={field: exc.message}
        ) from None


def email_template_preview(
    *,
    actor: Principal,
    subject: str,
    body: str,
    contact: Contact | None = None,
    company: Company | None = None,
) -> tuple[str, str]:
    """Render a subject and body not (yet) saved, as `email_template_render` would; their errors
    are a ValidationFailed on `subject` / `body`."""
    errors = FieldErrors()
    values = clean_sources({"subject": subject, "body": body}, errors)
    errors.raise_if_any()
    context = merge_context(actor=actor, contact=contact, company=company)
    return _one_line(_render(values["subject"], context, "subject")), _render(values["body"], context, "body")


def email_template_render(
    *, actor: Principal, template: EmailTemplate, contact: Contact | None = None, company: Company | None = None
) -> tuple[str, str]:
    """(subject, body) of `template` for `contact` / `company`, written by `actor`.

    The subject is plain text on one line; the body is Markdown source (merge values are not
    escaped: the Markdown renderer sanitises what it shows). A contact or company the actor may
    not read answers NotFound.
    """
    if template.org_id != actor.org_id:
        raise NotFound("not_found", "No such email template.")
    context = merge_context(actor=actor, contact=contact, company=company)
    return _one_line(_render(template.subject, context, "subject")), _render(template.body, context, "body")
