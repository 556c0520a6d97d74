"""Quotas: the API's create / read / change / delete with versions and events, who may set them
(admins and managers) and who sees them, bad input (422, nothing written), other workspaces (404,
nothing changes), and the grid service the quota page saves through."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from rapport.accounts.roles import Role
from rapport.contacts.tests.factories import api_error
from rapport.core.errors import StaleVersion, ValidationFailed
from rapport.core.models import Event
from rapport.core.principal import Principal
from rapport.sales import quota_services as services
from rapport.sales.models import Quota
from rapport.testing.factories import TeamFactory

URL = "/api/v1/quotas"


def _quota(
    actor: Principal, user: Principal, start: str = "2026-04-01", amount: str = "30000", period: str = "quarter"
):
    return services.quota_create(
        actor=actor, data={"user_id": user.user_id, "period": period, "period_start": start, "amount": amount}
    )


def _state(org_id: int) -> dict[str, Any]:
    return {
        "quotas": sorted(Quota.objects.filter(org_id=org_id).values_list("pk", "user_id", "amount", "version")),
        "events": Event.objects.filter(org_id=org_id, verb__startswith="quota.").count(),
    }


def test_an_admin_sets_reads_changes_and_deletes_a_quota(api, admin, member_of):
    rep = member_of(Role.SALES)
    client = api(admin)
    body = {"user_id": rep.user_id, "period": "quarter", "period_start": "2026-04-01", "amount": "30000"}
    resp = client.post(URL, body)
    assert resp.status_code == 201, resp.content
    created = resp.json()
    assert (created["amount"], created["period"], created["user"]["id"], created["version"]) == (
        "30000.00",
        "quarter",
        rep.user_id,
        1,
    )
    assert resp["ETag"] == '"v1"'
    url = f"{URL}/{created['id']}"
    got = client.get(url)
    assert got.status_code == 200 and got["ETag"] == '"v1"'
    assert [q["id"] for q in client.get(f"{URL}?period=quarter&user_id={rep.user_id}").json()["items"]] == [
        created["id"]
    ]
    assert api_error(client.patch(url, {"amount": "1"}), 428)["code"] == "precondition_required"
    changed = client.patch(url, {"amount": "32500.50"}, **{"If-Match": '"v1"'})
    assert changed.status_code == 200 and changed.json()["amount"] == "32500.50" and changed["ETag"] == '"v2"'
    assert api_error(client.patch(url, {"amount": "1"}, **{"If-Match": '"v1"'}), 412)["code"] == "stale_version"
    assert client.delete(url).status_code == 204
    assert api_error(client.get(url), 404)["code"] == "not_found"
    verbs = list(Event.objects.filter(subject_type="quota").order_by("id").values_list("verb", "changes"))
    assert verbs == [
        (
            "quota.created",
            {
                "user_id": [None, rep.user_id],
                "period": [None, "quarter"],
                "period_start": [None, "2026-04-01"],
                "amount": [None, "30000.00"],
            },
        ),
        ("quota.updated", {"amount": ["30000.00", "32500.50"]}),
        (
            "quota.deleted",
            {
                "user_id": [rep.user_id, None],
                "period": ["quarter", None],
                "period_start": ["2026-04-01", None],
                "amount": ["32500.50", None],
            },
        ),
    ]


def test_a_second_quota_for_the_same_period_is_a_409(api, admin, member_of):
    rep = member_of(Role.SALES)
    _quota(admin, rep)
    before = _state(admin.org_id)
    body = {"user_id": rep.user_id, "period": "quarter", "period_start": "2026-04-01", "amount": "1"}
    assert api_error(api(admin).post(URL, body), 409)["code"] == "quota_exists"
    assert _state(admin.org_id) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "-1"}, "amount"),
        ({"amount": "10.005"}, "amount"),
        ({"amount": "1e20"}, "amount"),
        ({"period": "week"}, "period"),
        ({"period_start": "2026-05-01"}, "period_start"),  # not the first day of a quarter
        ({"period_start": "2026-04-31"}, "period_start"),
        ({"user_id": 999_999_999}, "user_id"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_nothing_is_written(api, admin, member_of, change, field):
    rep = member_of(Role.SALES)
    body = {"user_id": rep.user_id, "period": "quarter", "period_start": "2026-04-01", "amount": "100", **change}
    before = _state(admin.org_id)
    assert field in api_error(api(admin).post(URL, body), 422)["fields"]
    assert _state(admin.org_id) == before


def test_a_negative_amount_in_a_patch_is_a_422(api, admin, member_of):
    quota = _quota(admin, member_of(Role.SALES))
    before = _state(admin.org_id)
    resp = api(admin).patch(f"{URL}/{quota.pk}", {"amount": "-5"}, **{"If-Match": '"v1"'})
    assert api_error(resp, 422)["fields"] == {"amount": "A quota cannot be negative."}
    assert _state(admin.org_id) == before


def test_a_member_of_another_workspace_cannot_get_a_quota_here(api, admin, other_admin):
    body = {"user_id": other_admin.user_id, "period": "month", "period_start": "2026-04-01", "amount": "100"}
    assert "user_id" in api_error(api(admin).post(URL, body), 422)["fields"]
    assert not Quota.objects.exists()


def test_managers_set_quotas_and_other_roles_may_not(api, admin, member_of):
    rep = member_of(Role.SALES)
    manager = api(member_of(Role.MANAGER))
    body = {"user_id": rep.user_id, "period": "month", "period_start": "2026-04-01", "amount": "100"}
    assert manager.post(URL, body).status_code == 201
    quota = Quota.objects.get()
    for role in (Role.SALES, Role.VIEWER, Role.SUPPORT, Role.MARKETING):
        client = api(member_of(role))
        before = _state(admin.org_id)
        other = {**body, "period_start": "2026-05-01"}
        assert api_error(client.post(URL, other), 403)["code"] == "permission_denied", role
        assert _state(admin.org_id) == before
    read_only = api(admin, scope="read")
    assert api_error(read_only.post(URL, {**body, "period_start": "2026-06-01"}), 403)
    assert api_error(read_only.delete(f"{URL}/{quota.pk}"), 403)
    assert Quota.objects.filter(pk=quota.pk).exists()


def test_a_rep_sees_their_own_and_their_teams_quotas_and_may_not_change_them(api, admin, member_of, org):
    rep, mate, stranger = member_of(Role.SALES), member_of(Role.SALES), member_of(Role.SALES)
    team = TeamFactory.create(org=org)
    team.members.add(rep.membership_id, mate.membership_id)
    from rapport.accounts.models import Membership

    rep = Principal.for_membership(Membership.objects.get(pk=rep.membership_id))
    mine, theirs, hidden = _quota(admin, rep), _quota(admin, mate), _quota(admin, stranger)
    client = api(rep)
    seen = {q["id"] for q in client.get(URL).json()["items"]}
    assert seen == {mine.pk, theirs.pk}
    before = _state(admin.org_id)
    assert api_error(client.patch(f"{URL}/{mine.pk}", {"amount": "1"}, **{"If-Match": '"v1"'}), 403)
    assert api_error(client.delete(f"{URL}/{theirs.pk}"), 403)
    for method in ("get", "delete"):
        assert api_error(getattr(client, method)(f"{URL}/{hidden.pk}"), 404)["code"] == "not_found"
    assert api_error(client.patch(f"{URL}/{hidden.pk}", {"amount": "1"}, **{"If-Match": '"v1"'}), 404)
    assert _state(admin.org_id) == before


ID_ENDPOINTS = [("get", None), ("patch", {"amount": "1"}), ("delete", None)]


@pytest.mark.parametrize(("method", "body"), ID_ENDPOINTS)
def test_every_quota_endpoint_answers_404_for_another_workspace(api, admin, other_admin, method, body):
    theirs = _quota(other_admin, other_admin)
    before, a_before = _state(other_admin.org_id), _state(admin.org_id)
    url = f"{URL}/{theirs.pk}"
    client = api(admin)
    resp = client.patch(url, body, **{"If-Match": '"v1"'}) if method == "patch" else getattr(client, method)(url)
    assert api_error(resp, 404)["code"] == "not_found"
    assert _state(other_admin.org_id) == before and _state(admin.org_id) == a_before
    assert theirs.pk not in {q["id"] for q in client.get(URL).json()["items"]}


def test_an_idempotency_key_replays_the_create(api, admin, member_of):
    rep = member_of(Role.SALES)
    client = api(admin)
    body = {"user_id": rep.user_id, "period": "month", "period_start": "2026-04-01", "amount": "100"}
    first = client.post(URL, body, **{"Idempotency-Key": "q-1"})
    again = client.post(URL, body, **{"Idempotency-Key": "q-1"})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert Quota.objects.count() == 1


# --- the grid service -------------------------------------------------------------------------------


def _cell(user: Principal, start: str, amount: str, version: int | None = None) -> services.GridCell:
    return services.GridCell(
        user_id=user.user_id, period_start=date.fromisoformat(start), amount=amount, version=version
    )


def test_the_grid_sets_changes_removes_and_leaves_quotas_alone(admin, member_of):
    a, b = member_of(Role.SALES), member_of(Role.MANAGER)
    keep = _quota(admin, a, "2026-01-01", "100", period="month")
    change = _quota(admin, a, "2026-02-01", "200", period="month")
    drop = _quota(admin, b, "2026-01-01", "300", period="month")
    result = services.quota_grid_save(
        actor=admin,
        period="month",
        cells=[
            _cell(a, "2026-01-01", "100", keep.version),
            _cell(a, "2026-02-01", "250.5", change.version),
            _cell(b, "2026-01-01", " ", drop.version),
            _cell(b, "2026-02-01", "400"),
            _cell(b, "2026-03-01", ""),
        ],
    )
    assert (result.created, result.updated, result.deleted) == (1, 1, 1)
    assert sorted(Quota.objects.values_list("user_id", "period_start", "amount")) == sorted(
        [
            (a.user_id, date(2026, 1, 1), Decimal("100.00")),
            (a.user_id, date(2026, 2, 1), Decimal("250.50")),
            (b.user_id, date(2026, 2, 1), Decimal("400.00")),
        ]
    )
    assert Event.objects.filter(verb__startswith="quota.").count() == 3 + 3


def test_the_grid_saves_nothing_when_a_cell_is_bad_or_stale(admin, member_of):
    a = member_of(Role.SALES)
    quota = _quota(admin, a, "2026-01-01", "100", period="month")
    before = _state(admin.org_id)
    with pytest.raises(ValidationFailed) as caught:
        services.quota_grid_save(
            actor=admin,
            period="month",
            cells=[_cell(a, "2026-02-01", "5"), _cell(a, "2026-03-01", "-1"), _cell(a, "2026-04-01", "ten")],
        )
    assert set(caught.value.fields) == {f"{a.user_id}-2026-03-01", f"{a.user_id}-2026-04-01"}
    assert _state(admin.org_id) == before
    with pytest.raises(StaleVersion):
        services.quota_grid_save(
            actor=admin,
            period="month",
            cells=[_cell(a, "2026-02-01", "5"), _cell(a, "2026-01-01", "150", quota.version + 1)],
        )
    assert _state(admin.org_id) == before


def test_the_grid_is_for_admins_and_managers(member_of):
    from rapport.core.errors import PermissionDenied

    rep = member_of(Role.SALES)
    with pytest.raises(PermissionDenied):
        services.quota_grid_save(actor=rep, period="month", cells=[_cell(rep, "2026-01-01", "1")])
    assert not Quota.objects.exists()


def test_the_demo_sellers_have_monthly_quotas_and_a_forecast(db):
    from rapport.accounts.demo import build_demo
    from rapport.accounts.models import Membership
    from rapport.sales.forecast import forecast, forecast_query

    demo = build_demo()
    sellers = Membership.objects.filter(org=demo.org, is_active=True, role__in=["admin", "manager", "sales"])
    quotas = Quota.objects.filter(org=demo.org)
    assert quotas.count() == sellers.count() * 16
    assert not quotas.filter(amount__lt=5000).exists()
    owner = sellers.filter(role="admin").first()
    assert owner is not None
    admin = Principal.for_membership(owner)
    result = forecast(actor=admin, query=forecast_query(actor=admin, group="owner"))
    assert result.missing_rates == []
    this_year = quotas.filter(period_start__year=result.periods[0].start.year)
    assert result.total.total.quota == sum((Decimal(str(q.amount)) for q in this_year), Decimal(0))
    assert result.total.total.closed_won and result.total.total.closed_won > 0
