"""The product pages and Settings → Currencies: what each role sees and may do, form errors on the
right field, versions, and other workspaces' records (404, nothing changes)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from rapport.accounts.models import Organization
from rapport.accounts.roles import Role
from rapport.core.models import Event
from rapport.sales import catalog_services, money
from rapport.sales.models import ExchangeRate, Product

FORM = {
    "sku": "CH-1",
    "name": "Office chair",
    "category": "Furniture",
    "unit_price": "149.00",
    "currency": "EUR",
    "active": "on",
    "description": "",
}


def product(actor, **data) -> Product:
    return catalog_services.product_create(
        actor=actor, data={"sku": "CH-1", "name": "Office chair", "unit_price": "149", **data}
    )


def test_the_list_searches_by_name_or_sku_and_filters_by_category_and_status(web, admin):
    product(admin, category="Furniture")
    product(admin, sku="DK-2", name="Standing desk", category="Furniture", active=False)
    product(admin, sku="PEN-3", name="Pen", category="Stationery")
    client = web(admin)

    def names(query: str) -> list[str]:
        resp = client.get(f"/sales/products/?{query}")
        assert resp.status_code == 200
        return [p.name for p in resp.context["page"].items]

    assert names("") == ["Office chair", "Pen", "Standing desk"]
    assert names("q=dk-2") == ["Standing desk"]
    assert names("q=chair") == ["Office chair"]
    assert names("category=Furniture") == ["Office chair", "Standing desk"]
    assert names("category=Furniture&active=1") == ["Office chair"]
    assert names("active=0") == ["Standing desk"]
    page = client.get("/sales/products/?q=nothing-like-it").content.decode()
    assert "No products match these filters." in page
    assert client.get("/sales/products/?category=Unknown").status_code == 400


def test_an_admin_creates_edits_and_deletes_a_product(web, admin):
    client = web(admin)
    assert "New product" in client.get("/sales/products/").content.decode()
    resp = client.post("/sales/products/new/", FORM)
    assert resp.status_code == 302
    created = Product.objects.get()
    assert (created.sku, created.unit_price, created.currency, created.active) == (
        "CH-1",
        Decimal("149.00"),
        "EUR",
        True,
    )
    edit_url = f"/sales/products/{created.pk}/edit/"
    assert client.get(edit_url).status_code == 200
    resp = client.post(edit_url, {**FORM, "unit_price": "139.50", "active": "", "version": "1"})
    assert resp.status_code == 302
    created.refresh_from_db()
    assert created.unit_price == Decimal("139.50") and not created.active and created.version == 2
    stale = client.post(edit_url, {**FORM, "name": "Late", "version": "1"})
    assert stale.status_code == 409 and "Someone else changed this product" in stale.content.decode()
    assert client.get(f"/sales/products/{created.pk}/delete/").status_code == 200
    assert client.post(f"/sales/products/{created.pk}/delete/").status_code == 302
    assert Product.objects.get().deleted_at is not None
    assert client.get(edit_url).status_code == 404


def test_form_errors_show_on_their_field_and_nothing_is_written(web, admin):
    product(admin)
    client = web(admin)
    resp = client.post("/sales/products/new/", {**FORM, "name": "Copy"})
    assert resp.status_code == 409
    assert "Another product already has the SKU" in str(resp.context["form"].errors["sku"])
    resp = client.post("/sales/products/new/", {**FORM, "sku": "NEW", "unit_price": "-1"})
    assert resp.status_code == 422 and "unit_price" in resp.context["form"].errors
    resp = client.post("/sales/products/new/", {**FORM, "sku": "NEW", "currency": "XYZ"})
    assert resp.status_code == 422 and "currency" in resp.context["form"].errors
    assert Product.objects.count() == 1


@pytest.mark.parametrize("role", [Role.SALES, Role.VIEWER])
def test_sales_sees_the_catalogue_but_cannot_change_it(web, admin, member_of, role):
    existing = product(admin)
    client = web(member_of(role))
    page = client.get("/sales/products/")
    assert page.status_code == 200 and "Office chair" in page.content.decode()
    assert "New product" not in page.content.decode() and "/edit/" not in page.content.decode()
    assert client.get("/sales/products/new/").status_code == 403
    assert client.post("/sales/products/new/", {**FORM, "sku": "MINE"}).status_code == 403
    assert (
        client.post(f"/sales/products/{existing.pk}/edit/", {**FORM, "name": "Mine", "version": "1"}).status_code == 403
    )
    assert client.post(f"/sales/products/{existing.pk}/delete/").status_code == 403
    existing.refresh_from_db()
    assert existing.name == "Office chair" and existing.deleted_at is None and Product.objects.count() == 1


def test_another_workspaces_product_is_404_and_unchanged(web, admin, other_admin):
    theirs = product(other_admin)
    client = web(admin)
    assert "Office chair" not in client.get("/sales/products/").content.decode()
    assert client.get(f"/sales/products/{theirs.pk}/edit/").status_code == 404
    assert (
        client.post(f"/sales/products/{theirs.pk}/edit/", {**FORM, "name": "Mine", "version": "1"}).status_code == 404
    )
    assert client.post(f"/sales/products/{theirs.pk}/delete/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Office chair" and theirs.deleted_at is None


# --- Settings → Currencies ------------------------------------------------------------------------


def test_an_admin_adds_and_deletes_rates_and_sees_them(web, admin):
    client = web(admin)
    page = client.get("/settings/currencies/")
    assert page.status_code == 200 and 'aria-current="page">Currencies' in page.content.decode()
    resp = client.post(
        "/settings/currencies/", {"action": "rate", "currency": "EUR", "rate": "1.08", "valid_from": "2026-01-01"}
    )
    assert resp.status_code == 302
    rate = ExchangeRate.objects.get()
    assert (rate.currency, rate.rate, rate.valid_from) == ("EUR", Decimal("1.08"), date(2026, 1, 1))
    assert "1.08" in client.get("/settings/currencies/").content.decode()
    bad = client.post(
        "/settings/currencies/", {"action": "rate", "currency": "GBP", "rate": "-2", "valid_from": "2026-01-01"}
    )
    assert bad.status_code == 422 and "rate" in bad.context["rate_form"].errors
    assert client.post(f"/settings/currencies/rates/{rate.pk}/delete/").status_code == 302
    assert not ExchangeRate.objects.exists()


def test_the_base_currency_change_needs_clear_rates_while_rates_exist(web, admin):
    money.rate_set(actor=admin, currency="EUR", rate="1.08", valid_from=date(2026, 1, 1))
    client = web(admin)
    refused = client.post("/settings/currencies/", {"action": "base", "base_currency": "EUR"})
    assert refused.status_code == 409 and "base_currency" in refused.context["base_form"].errors
    assert Organization.objects.get(pk=admin.org_id).base_currency == "USD" and ExchangeRate.objects.count() == 1
    done = client.post("/settings/currencies/", {"action": "base", "base_currency": "EUR", "clear_rates": "on"})
    assert done.status_code == 302
    assert Organization.objects.get(pk=admin.org_id).base_currency == "EUR" and not ExchangeRate.objects.exists()


@pytest.mark.parametrize("role", [Role.MANAGER, Role.SALES])
def test_only_admins_reach_the_currency_settings(web, admin, member_of, role):
    rate, _ = money.rate_set(actor=admin, currency="EUR", rate="1.08", valid_from=date(2026, 1, 1))
    client = web(member_of(role))
    events = Event.objects.count()
    assert client.get("/settings/currencies/").status_code == 403
    assert client.post("/settings/currencies/", {"action": "base", "base_currency": "EUR"}).status_code == 403
    assert client.post(f"/settings/currencies/rates/{rate.pk}/delete/").status_code == 403
    assert ExchangeRate.objects.count() == 1 and Event.objects.count() == events
    assert 'href="/settings/currencies/"' not in client.get("/settings/tokens/").content.decode()


def test_another_workspaces_rate_cannot_be_deleted(web, admin, other_admin):
    theirs, _ = money.rate_set(actor=other_admin, currency="EUR", rate="1.08", valid_from=date(2026, 1, 1))
    assert web(admin).post(f"/settings/currencies/rates/{theirs.pk}/delete/").status_code == 404
    assert ExchangeRate.objects.filter(pk=theirs.pk).exists()
