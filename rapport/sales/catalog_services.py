"""Writes and reads of the product catalogue and of competitors. The API and the pages share these.

Products follow Entity.PRODUCT: every role reads the catalogue; managers and admins change it
(sales, support, marketing and viewers read only). A product has no owner, so a level is "all"
or "none".

Competitors are part of selling: whoever may read deals (at any level) reads them; changing them
needs the manage-settings permission (admins) or the right to write ALL deals (managers), since
a competitor is shared by every deal of the workspace.

Input is a mapping of field → value; all invalid fields are reported together (ValidationFailed,
422). A duplicate SKU or competitor name is a 409 naming the field. Deletes move records to the
trash (`deleted_at`); a trashed product's SKU and a trashed competitor's name can be used again.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from rapport.accounts.models import Organization
from rapport.accounts.roles import Entity, Level, Mode, Perm
from rapport.contacts.cleaning import FieldErrors
from rapport.core import normalize
from rapport.core.access import access, require_entity, scope
from rapport.core.errors import Conflict, NotFound, PermissionDenied, StaleVersion
from rapport.core.events import diff, record_event
from rapport.core.principal import Principal
from rapport.sales.models import Competitor, Product
from rapport.sales.order_services import to_decimal

RecordT = TypeVar("RecordT", Product, Competitor)

PRODUCT_FIELDS = {"sku", "name", "description", "category", "unit_price", "currency", "active"}
COMPETITOR_FIELDS = {"name", "website", "strengths", "weaknesses"}
SKU_MAX = 64
NAME_MAX = 200
CATEGORY_MAX = 100
TEXT_MAX = 5000
COMPETITOR_NAME_MAX = 150
WEBSITE_MAX = 300
# Product.unit_price is DECIMAL(18, 2): 16 digits before the point.
PRICE_MAX = Decimal(10) ** 16


# --- cleaning -------------------------------------------------------------------------------------


def _unknown(data: Mapping[str, Any], allowed: set[str], errors: FieldErrors) -> None:
    for name in sorted(set(data) - allowed):
        errors.add(name, "Unknown field.")


def _line(value: Any, name: str, max_length: int, errors: FieldErrors, *, required: bool = False) -> str:
    """One line of text, trimmed, inner white space collapsed (names, categories)."""
    text = errors.run(name, normalize.name_part, value, max_length=max_length)
    if text is None:
        return ""
    if required and not text:
        errors.add(name, "This field is required.")
    return str(text)


def _long_text(value: Any, name: str, errors: FieldErrors) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or "\x00" in value:
        errors.add(name, "Enter text.")
        return ""
    value = value.strip()
    if len(value) > TEXT_MAX:
        errors.add(name, f"Use at most {TEXT_MAX} characters.")
    return value


def clean_sku(value: Any, errors: FieldErrors) -> str:
    """The SKU trimmed (case kept: "ab-1" and "AB-1" are two products); no control characters."""
    if value is not None and not isinstance(value, str):
        errors.add("sku", "Enter text.")
        return ""
    if value is None or not value.strip():
        errors.add("sku", "Enter a SKU.")
        return ""
    value = value.strip()
    if any(unicodedata.category(char).startswith("C") for char in value):
        errors.add("sku", "A SKU cannot contain control or invisible characters.")
    elif len(value) > SKU_MAX:
        errors.add("sku", f"Use at most {SKU_MAX} characters.")
    return value


def clean_price(value: Any, errors: FieldErrors, field: str = "unit_price") -> Decimal | None:
    """A price ≥ 0 with at most 2 decimals (a number or its text; not a float's approximation)."""
    if value is None or value == "" or isinstance(value, bool):
        errors.add(field, "Enter a price (0 or more).")
        return None
    price = to_decimal(value)
    if price is None:
        errors.add(field, "Enter a number, such as 49.90.")
    elif price < 0:
        errors.add(field, "A price cannot be negative.")
    elif price >= PRICE_MAX:
        errors.add(field, "This price is too large.")
    elif price != price.quantize(Decimal("0.01"), rounding="ROUND_DOWN"):
        errors.add(field, "Use at most 2 decimal places.")
    else:
        return price.quantize(Decimal("0.01"))
    return None


def _clean_product(actor: Principal, data: Mapping[str, Any], instance: Product | None) -> dict[str, Any]:
    errors = FieldErrors()
    _unknown(data, PRODUCT_FIELDS, errors)
    values: dict[str, Any] = {}
    if "sku" in data or instance is None:
        values["sku"] = clean_sku(data.get("sku"), errors)
    if "name" in data or instance is None:
        values["name"] = _line(data.get("name"), "name", NAME_MAX, errors, required=True)
    if "description" in data:
        values["description"] = _long_text(data["description"], "description", errors)
    if "category" in data:
        values["category"] = _line(data["category"], "category", CATEGORY_MAX, errors)
    if "unit_price" in data or instance is None:
        values["unit_price"] = clean_price(data.get("unit_price"), errors)
    if "currency" in data and data["currency"] not in (None, ""):
        values["currency"] = errors.run("currency", normalize.currency, data["currency"])
    elif "currency" in data:
        errors.add("currency", "Enter a currency.")
    elif instance is None:
        values["currency"] = Organization.objects.values_list("base_currency", flat=True).get(pk=actor.org_id)
    if "active" in data:
        if not isinstance(data["active"], bool):
            errors.add("active", "Enter true or false.")
        values["active"] = data["active"]
    errors.raise_if_any()
    return values


def _clean_competitor(data: Mapping[str, Any], instance: Competitor | None) -> dict[str, Any]:
    errors = FieldErrors()
    _unknown(data, COMPETITOR_FIELDS, errors)
    values: dict[str, Any] = {}
    if "name" in data or instance is None:
        values["name"] = _line(data.get("name"), "name", COMPETITOR_NAME_MAX, errors, required=True)
    if "website" in data:
        website = data["website"]
        if website is None or (isinstance(website, str) and not website.strip()):
            values["website"] = ""
        else:
            values["website"] = errors.run("website", normalize.url, website) or ""
            if len(values["website"]) > WEBSITE_MAX:
                errors.add("website", f"Use at most {WEBSITE_MAX} characters.")
    for name in ("strengths", "weaknesses"):
        if name in data:
            values[name] = _long_text(data[name], name, errors)
    errors.raise_if_any()
    return values


# --- products -------------------------------------------------------------------------------------

PRODUCT_SNAPSHOT = ("sku", "name", "description", "category", "unit_price", "currency", "active")


def _product_snapshot(product: Product) -> dict[str, Any]:
    return {name: getattr(product, name) for name in PRODUCT_SNAPSHOT}


def _duplicate_sku(sku: str) -> Conflict:
    return Conflict("duplicate_sku", f"Another product already has the SKU “{sku}”.", field="sku")


def _sku_taken(actor: Principal, sku: str, exclude: int | None = None) -> bool:
    qs = Product.objects.filter(org_id=actor.org_id, sku=sku, deleted_at__isnull=True)
    return qs.exclude(pk=exclude).exists() if exclude else qs.exists()


def can_write_products(actor: Principal) -> bool:
    return actor.can(Entity.PRODUCT, Mode.WRITE)


def _require_product_write(actor: Principal, product: Product) -> None:
    if product.org_id != actor.org_id:
        raise NotFound()
    if not can_write_products(actor):
        raise PermissionDenied()


@transaction.atomic
def product_create(*, actor: Principal, data: Mapping[str, Any]) -> Product:
    """Add a product to the catalogue (sku, name and unit_price required; currency defaults to the
    workspace's base currency). Records `product.created`."""
    require_entity(actor, Entity.PRODUCT, Mode.WRITE)
    values = _clean_product(actor, data, None)
    if _sku_taken(actor, values["sku"]):
        raise _duplicate_sku(values["sku"])
    try:
        with transaction.atomic():
            product = Product.objects.create(org_id=actor.org_id, created_by=actor.user, **values)
    except IntegrityError:  # a concurrent create took the SKU
        raise _duplicate_sku(values["sku"]) from None
    product.refresh_from_db()
    record_event(actor, "product.created", product, diff({}, _product_snapshot(product)))
    return product


def _versioned_update(
    record: RecordT, values: dict[str, Any], expected_version: int | None, duplicate: Callable[[], Exception]
) -> RecordT:
    """Write `values` to a living record if it is still at `expected_version` (StaleVersion
    otherwise), bumping its version; a unique-constraint clash raises `duplicate()`. The record
    as stored afterwards."""
    model = type(record)
    qs = model.objects.filter(pk=record.pk, deleted_at__isnull=True)
    if expected_version is not None:
        qs = qs.filter(version=expected_version)
    try:
        with transaction.atomic():
            updated = qs.update(version=F("version") + 1, updated_at=timezone.now(), **values)
    except IntegrityError:
        raise duplicate() from None
    if not updated:
        raise StaleVersion()
    return model.objects.get(pk=record.pk)


@transaction.atomic
def product_update(
    *, actor: Principal, product: Product, data: Mapping[str, Any], expected_version: int | None
) -> Product:
    """Change some fields of a product; refuses a stale version (412). Records `product.updated`
    when anything changed."""
    _require_product_write(actor, product)
    before = _product_snapshot(product)
    values = _clean_product(actor, data, product)
    if "sku" in values and _sku_taken(actor, values["sku"], exclude=product.pk):
        raise _duplicate_sku(values["sku"])
    product = _versioned_update(
        product, values, expected_version, lambda: _duplicate_sku(values.get("sku", product.sku))
    )
    changes = diff(before, _product_snapshot(product))
    if changes:
        record_event(actor, "product.updated", product, changes)
    return product


@transaction.atomic
def product_delete(*, actor: Principal, product: Product) -> Product:
    """Move a product to the trash (deal lines keep their own name and price). Records `product.trashed`."""
    _require_product_write(actor, product)
    if product.deleted_at is None:
        product.deleted_at = timezone.now()
        Product.objects.filter(pk=product.pk).update(deleted_at=product.deleted_at, version=F("version") + 1)
        record_event(actor, "product.trashed", product, {"deleted_at": [None, product.deleted_at.isoformat()]})
    return product


def product_list(
    *,
    actor: Principal,
    q: str | None = None,
    category: str | None = None,
    active: bool | None = None,
    currency: str | None = None,
) -> QuerySet[Product]:
    """The living products (every role with product read access sees the whole catalogue).

    `q` matches a part of the name or the SKU, ignoring case; `category` is exact."""
    qs = scope(actor, Product.objects.filter(deleted_at__isnull=True), Entity.PRODUCT)
    if q and q.strip():
        text = q.strip()
        qs = qs.filter(Q(name__icontains=text) | Q(sku__icontains=text))
    if category:
        qs = qs.filter(category=category)
    if active is not None:
        qs = qs.filter(active=active)
    if currency:
        qs = qs.filter(currency=currency.strip().upper())
    return qs


def product_categories(*, actor: Principal) -> list[str]:
    """The categories in use, alphabetically (the filter's choices)."""
    qs = product_list(actor=actor).exclude(category="")
    return list(qs.order_by("category").values_list("category", flat=True).distinct()[:500])


def product_get(*, actor: Principal, product_id: object, mode: Mode = Mode.READ) -> Product:
    """One living product; 404 for missing and other workspaces' alike, 403 to a write without the right."""
    return access(actor, Product.objects.filter(deleted_at__isnull=True), product_id, Entity.PRODUCT, mode)


# --- competitors ----------------------------------------------------------------------------------

COMPETITOR_SNAPSHOT = ("name", "website", "strengths", "weaknesses")


def can_read_competitors(actor: Principal) -> bool:
    return actor.can(Entity.DEAL, Mode.READ)


def can_write_competitors(actor: Principal) -> bool:
    """Admins (manage settings) and whoever may change every deal of the workspace (managers)."""
    return actor.has_perm(Perm.MANAGE_SETTINGS) or actor.level(Entity.DEAL, Mode.WRITE) is Level.ALL


def _duplicate_name(name: str) -> Conflict:
    return Conflict("duplicate_name", f"A competitor named “{name}” already exists.", field="name")


def _name_taken(actor: Principal, name: str, exclude: int | None = None) -> bool:
    qs = Competitor.objects.filter(org_id=actor.org_id, name__iexact=name, deleted_at__isnull=True)
    return qs.exclude(pk=exclude).exists() if exclude else qs.exists()


def _require_competitor_write(actor: Principal, competitor: Competitor) -> None:
    if competitor.org_id != actor.org_id or not can_read_competitors(actor):
        raise NotFound()
    if not can_write_competitors(actor):
        raise PermissionDenied()


def _competitor_snapshot(competitor: Competitor) -> dict[str, Any]:
    return {name: getattr(competitor, name) for name in COMPETITOR_SNAPSHOT}


@transaction.atomic
def competitor_create(*, actor: Principal, data: Mapping[str, Any]) -> Competitor:
    """Add a competitor (name required, unique ignoring case; website normalised like a company's).
    Records `competitor.created`."""
    if not can_write_competitors(actor):
        raise PermissionDenied()
    values = _clean_competitor(data, None)
    if _name_taken(actor, values["name"]):
        raise _duplicate_name(values["name"])
    try:
        with transaction.atomic():
            competitor = Competitor.objects.create(org_id=actor.org_id, created_by=actor.user, **values)
    except IntegrityError:
        raise _duplicate_name(values["name"]) from None
    record_event(actor, "competitor.created", competitor, diff({}, _competitor_snapshot(competitor)))
    return competitor


@transaction.atomic
def competitor_update(
    *, actor: Principal, competitor: Competitor, data: Mapping[str, Any], expected_version: int | None
) -> Competitor:
    """Change some fields of a competitor; refuses a stale version. Records `competitor.updated`."""
    _require_competitor_write(actor, competitor)
    before = _competitor_snapshot(competitor)
    values = _clean_competitor(data, competitor)
    if "name" in values and _name_taken(actor, values["name"], exclude=competitor.pk):
        raise _duplicate_name(values["name"])
    competitor = _versioned_update(
        competitor, values, expected_version, lambda: _duplicate_name(values.get("name", competitor.name))
    )
    changes = diff(before, _competitor_snapshot(competitor))
    if changes:
        record_event(actor, "competitor.updated", competitor, changes)
    return competitor


@transaction.atomic
def competitor_delete(*, actor: Principal, competitor: Competitor) -> Competitor:
    """Move a competitor to the trash (deals keep the link, for win/loss history). Records
    `competitor.trashed`."""
    _require_competitor_write(actor, competitor)
    if competitor.deleted_at is None:
        competitor.deleted_at = timezone.now()
        Competitor.objects.filter(pk=competitor.pk).update(deleted_at=competitor.deleted_at, version=F("version") + 1)
        record_event(actor, "competitor.trashed", competitor, {"deleted_at": [None, competitor.deleted_at.isoformat()]})
    return competitor


def competitor_list(*, actor: Principal, q: str | None = None) -> QuerySet[Competitor]:
    """The living competitors, for whoever may read deals; `q` matches a part of the name."""
    if not can_read_competitors(actor):
        return Competitor.objects.none()
    qs = Competitor.objects.filter(org_id=actor.org_id, deleted_at__isnull=True)
    if q and q.strip():
        qs = qs.filter(name__icontains=q.strip())
    return qs


def competitor_get(*, actor: Principal, competitor_id: int, mode: Mode = Mode.READ) -> Competitor:
    """One living competitor; 404 for missing, other workspaces' and unreadable alike; 403 to a
    write without the right."""
    if not can_read_competitors(actor):
        raise NotFound()
    try:
        competitor = Competitor.objects.get(org_id=actor.org_id, pk=competitor_id, deleted_at__isnull=True)
    except (Competitor.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    if mode is Mode.WRITE and not can_write_competitors(actor):
        raise PermissionDenied()
    return competitor
