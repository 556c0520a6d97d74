"""The product and competitor services: validation, uniqueness, versions, events and who may write."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rapport.accounts.roles import Mode, Role
from rapport.core.errors import Conflict, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from rapport.core.models import Event
from rapport.sales import catalog_services as services
from rapport.sales.models import Competitor, Product

D = Decimal


def make_product(actor, **data) -> Product:
    return services.product_create(actor=actor, data={"sku": "WID-1", "name": "Widget", "unit_price": "10", **data})


def test_a_product_is_created_trimmed_and_priced_in_the_base_currency_by_default(admin):
    product = services.product_create(
        actor=admin,
        data={"sku": "  Wid-1 ", "name": " Big   widget ", "unit_price": D("49.9"), "category": " Hardware "},
    )
    assert (product.sku, product.name, product.category) == ("Wid-1", "Big widget", "Hardware")
    assert product.unit_price == D("49.90") and product.currency == admin.org.base_currency and product.active
    event = Event.objects.get(verb="product.created")
    assert event.subject_id == product.pk and event.changes["sku"] == [None, "Wid-1"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"unit_price": "-0.01"}, "unit_price"),
        ({"unit_price": "1.005"}, "unit_price"),
        ({"unit_price": "Infinity"}, "unit_price"),
        ({"unit_price": "ten"}, "unit_price"),
        ({"unit_price": True}, "unit_price"),
        ({"unit_price": "1e17"}, "unit_price"),
        ({"unit_price": None}, "unit_price"),
        ({"currency": "XYZ"}, "currency"),
        ({"currency": ""}, "currency"),
        ({"sku": "   "}, "sku"),
        ({"sku": "A\tB"}, "sku"),
        ({"sku": "x" * 65}, "sku"),
        ({"sku": 12}, "sku"),
        ({"name": ""}, "name"),
        ({"active": "yes"}, "active"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_product_input_names_the_field_and_writes_nothing(admin, data, field):
    with pytest.raises(ValidationFailed) as caught:
        make_product(admin, **data)
    assert field in caught.value.fields
    assert not Product.objects.exists() and not Event.objects.filter(verb__startswith="product.").exists()


def test_prices_may_be_zero_and_currency_a_name(admin):
    product = make_product(admin, unit_price=0, currency="euro")
    assert product.unit_price == D("0.00") and product.currency == "EUR"


def test_a_duplicate_sku_is_a_conflict_on_the_sku_but_case_counts(admin):
    make_product(admin, sku="ABC")
    with pytest.raises(Conflict) as caught:
        make_product(admin, sku=" ABC ")
    assert caught.value.code == "duplicate_sku" and caught.value.status == 409 and "sku" in caught.value.fields
    assert make_product(admin, sku="abc").sku == "abc"
    assert Product.objects.count() == 2


def test_a_trashed_products_sku_is_free_again_and_other_workspaces_do_not_count(admin, other_admin):
    first = make_product(admin, sku="ABC")
    make_product(other_admin, sku="ABC")
    services.product_delete(actor=admin, product=first)
    again = make_product(admin, sku="ABC")
    assert again.pk != first.pk and Product.objects.filter(sku="ABC").count() == 3


def test_an_update_checks_the_version_and_the_sku(admin):
    product = make_product(admin)
    other = make_product(admin, sku="WID-2")
    with pytest.raises(Conflict):
        services.product_update(actor=admin, product=other, data={"sku": "WID-1"}, expected_version=1)
    updated = services.product_update(
        actor=admin, product=product, data={"unit_price": "12.50", "active": False}, expected_version=1
    )
    assert updated.unit_price == D("12.50") and not updated.active and updated.version == 2
    assert Event.objects.get(verb="product.updated").changes == {
        "unit_price": ["10.00", "12.50"],
        "active": [True, False],
    }
    with pytest.raises(StaleVersion):
        services.product_update(actor=admin, product=updated, data={"name": "Late"}, expected_version=1)
    assert Product.objects.get(pk=product.pk).name == "Widget"


def test_an_update_that_changes_nothing_records_no_event(admin):
    product = make_product(admin)
    services.product_update(actor=admin, product=product, data={"name": "Widget"}, expected_version=None)
    assert not Event.objects.filter(verb="product.updated").exists()


@pytest.mark.parametrize("role", [Role.SALES, Role.SUPPORT, Role.MARKETING, Role.VIEWER])
def test_only_managers_and_admins_write_products_but_everyone_reads(admin, member_of, role):
    product = make_product(admin)
    actor = member_of(role)
    with pytest.raises(PermissionDenied):
        make_product(actor, sku="NEW")
    with pytest.raises(PermissionDenied):
        services.product_update(actor=actor, product=product, data={"name": "X"}, expected_version=None)
    with pytest.raises(PermissionDenied):
        services.product_delete(actor=actor, product=product)
    with pytest.raises(PermissionDenied):
        services.product_get(actor=actor, product_id=product.pk, mode=Mode.WRITE)
    assert services.product_get(actor=actor, product_id=product.pk) == product
    assert list(services.product_list(actor=actor)) == [product]
    assert Product.objects.get(pk=product.pk).name == "Widget" and Product.objects.count() == 1


def test_a_manager_writes_products(member_of):
    manager = member_of(Role.MANAGER)
    product = make_product(manager)
    services.product_delete(actor=manager, product=product)
    assert Product.objects.get(pk=product.pk).deleted_at is not None
    with pytest.raises(NotFound):
        services.product_get(actor=manager, product_id=product.pk)


def test_another_workspaces_product_is_not_found(admin, other_admin):
    product = make_product(other_admin)
    with pytest.raises(NotFound):
        services.product_get(actor=admin, product_id=product.pk)
    with pytest.raises(NotFound):
        services.product_delete(actor=admin, product=product)
    assert Product.objects.get(pk=product.pk).deleted_at is None


def test_the_product_list_searches_and_filters(admin):
    make_product(admin, sku="CHAIR-1", name="Office chair", category="Furniture")
    make_product(admin, sku="DESK-9", name="Standing desk", category="Furniture", active=False)
    make_product(admin, sku="PEN-1", name="Pen", category="Stationery", currency="EUR")

    def skus(**filters) -> list[str]:
        return sorted(services.product_list(actor=admin, **filters).values_list("sku", flat=True))

    assert skus(q="chair") == ["CHAIR-1"]
    assert skus(q="desk-9") == ["DESK-9"]
    assert skus(category="Furniture") == ["CHAIR-1", "DESK-9"]
    assert skus(category="Furniture", active=True) == ["CHAIR-1"]
    assert skus(active=False) == ["DESK-9"]
    assert skus(currency="eur") == ["PEN-1"]
    assert services.product_categories(actor=admin) == ["Furniture", "Stationery"]


# --- competitors ----------------------------------------------------------------------------------


def make_competitor(actor, **data) -> Competitor:
    return services.competitor_create(actor=actor, data={"name": "Globex", **data})


def test_a_competitor_gets_a_normalised_website(admin):
    competitor = make_competitor(admin, website="globex.example.com/crm", strengths="Cheap", weaknesses="Slow")
    assert competitor.website == "https://globex.example.com/crm"
    assert Event.objects.get(verb="competitor.created").subject_id == competitor.pk


@pytest.mark.parametrize(
    ("data", "field"),
    [({"name": "  "}, "name"), ({"website": "javascript:alert(1)"}, "website"), ({"website": "not a url"}, "website")],
)
def test_bad_competitor_input_names_the_field(admin, data, field):
    with pytest.raises(ValidationFailed) as caught:
        make_competitor(admin, **data)
    assert field in caught.value.fields and not Competitor.objects.exists()


def test_competitor_names_are_unique_ignoring_case_among_the_living(admin):
    first = make_competitor(admin)
    with pytest.raises(Conflict) as caught:
        make_competitor(admin, name="GLOBEX")
    assert caught.value.code == "duplicate_name" and "name" in caught.value.fields
    other = make_competitor(admin, name="Initech")
    with pytest.raises(Conflict):
        services.competitor_update(actor=admin, competitor=other, data={"name": "globex"}, expected_version=1)
    services.competitor_delete(actor=admin, competitor=first)
    assert make_competitor(admin, name="GLOBEX").pk != first.pk


def test_a_competitor_update_checks_the_version(admin):
    competitor = make_competitor(admin)
    updated = services.competitor_update(
        actor=admin, competitor=competitor, data={"website": "", "strengths": "Brand"}, expected_version=1
    )
    assert updated.version == 2 and updated.strengths == "Brand"
    with pytest.raises(StaleVersion):
        services.competitor_update(actor=admin, competitor=competitor, data={"name": "X"}, expected_version=1)


@pytest.mark.parametrize("role", [Role.SALES, Role.SUPPORT, Role.VIEWER])
def test_competitors_are_read_by_deal_readers_and_written_by_managers_and_admins(admin, member_of, role):
    competitor = make_competitor(admin)
    reader = member_of(role)
    assert services.competitor_get(actor=reader, competitor_id=competitor.pk) == competitor
    assert list(services.competitor_list(actor=reader)) == [competitor]
    with pytest.raises(PermissionDenied):
        make_competitor(reader, name="Other")
    with pytest.raises(PermissionDenied):
        services.competitor_update(actor=reader, competitor=competitor, data={"name": "X"}, expected_version=None)
    with pytest.raises(PermissionDenied):
        services.competitor_delete(actor=reader, competitor=competitor)
    manager = member_of(Role.MANAGER)
    services.competitor_update(actor=manager, competitor=competitor, data={"name": "Globex Inc"}, expected_version=1)
    assert Competitor.objects.get(pk=competitor.pk).name == "Globex Inc"


def test_marketing_without_deal_access_reads_competitors_too(admin, member_of):
    # Marketing reads all deals (read level ALL), so it reads competitors.
    competitor = make_competitor(admin)
    assert list(services.competitor_list(actor=member_of(Role.MARKETING))) == [competitor]


def test_another_workspaces_competitor_is_not_found(admin, other_admin):
    competitor = make_competitor(other_admin)
    with pytest.raises(NotFound):
        services.competitor_get(actor=admin, competitor_id=competitor.pk)
    with pytest.raises(NotFound):
        services.competitor_delete(actor=admin, competitor=competitor)
    assert services.competitor_list(actor=admin).count() == 0
