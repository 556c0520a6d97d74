"""The API's HTTP contracts: ETag / If-Match, Idempotency-Key, cursor pagination, one error shape, no 500s."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from rapport.accounts.models import ApiToken, Membership, Team
from rapport.accounts.roles import Role
from rapport.conftest import ApiClient
from rapport.core.errors import ValidationFailed
from rapport.core.models import Event, IdempotencyRecord
from rapport.core.pagination import MAX_LIMIT, paginate
from rapport.testing.factories import MembershipFactory, TeamFactory


def error(resp: Any) -> dict[str, Any]:
    """The error of a response, after checking it has exactly the one error shape."""
    assert resp["Content-Type"].startswith("application/json"), (resp.status_code, resp.content[:200])
    body = resp.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert set(err) == {"code", "message", "fields"}, err
    assert isinstance(err["code"], str) and err["code"]
    assert isinstance(err["message"], str) and err["message"]
    assert isinstance(err["fields"], dict)
    assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in err["fields"].items())
    return err


def cursor_of(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


# --- ETag and If-Match ----------------------------------------------------------------------


def test_get_answers_the_records_version_as_a_strong_etag(api, org, admin):
    team = TeamFactory.create(org=org)
    Team.objects.filter(pk=team.pk).update(version=7)
    resp = api(admin).get(f"/api/v1/teams/{team.pk}")
    assert resp["ETag"] == '"v7"'
    assert resp.json()["version"] == 7


def test_patch_without_if_match_is_refused_with_428_and_changes_nothing(api, org, admin):
    team = TeamFactory.create(org=org, name="North")
    member = MembershipFactory.create(org=org, role=Role.SALES)
    client = api(admin)
    for resp in (
        client.patch(f"/api/v1/teams/{team.pk}", {"name": "South"}),
        client.patch(f"/api/v1/teams/{team.pk}", {"name": "South"}, **{"If-Match": "  "}),
        client.patch(f"/api/v1/members/{member.pk}", {"role": "viewer"}),
    ):
        assert resp.status_code == 428
        assert error(resp)["code"] == "precondition_required"
    team.refresh_from_db()
    member.refresh_from_db()
    assert (team.name, team.version, member.role, member.version) == ("North", 1, Role.SALES, 1)
    assert not Event.objects.filter(verb__in=["team.updated", "member.updated"]).exists()


def test_patch_with_the_current_etag_succeeds_and_answers_the_next_one(api, org, admin):
    team = TeamFactory.create(org=org, name="North")
    client = api(admin)
    etag = client.get(f"/api/v1/teams/{team.pk}")["ETag"]
    resp = client.patch(f"/api/v1/teams/{team.pk}", {"name": "South"}, **{"If-Match": etag})
    assert resp.status_code == 200
    assert resp["ETag"] == '"v2"' == client.get(f"/api/v1/teams/{team.pk}")["ETag"]
    team.refresh_from_db()
    assert (team.name, team.version) == ("South", 2)


def test_a_weak_form_of_the_current_etag_is_accepted(api, org, admin):
    team = TeamFactory.create(org=org, name="North")
    resp = api(admin).patch(f"/api/v1/teams/{team.pk}", {"name": "South"}, **{"If-Match": 'W/"v1"'})
    assert resp.status_code == 200
    assert Team.objects.get(pk=team.pk).name == "South"


def test_a_stale_etag_is_refused_with_412_and_the_newer_change_survives(api, org, admin, member_of):
    team = TeamFactory.create(org=org, name="North")
    first, second = api(admin), api(member_of(Role.ADMIN))
    etag = first.get(f"/api/v1/teams/{team.pk}")["ETag"]
    assert second.get(f"/api/v1/teams/{team.pk}")["ETag"] == etag
    assert first.patch(f"/api/v1/teams/{team.pk}", {"name": "South"}, **{"If-Match": etag}).status_code == 200
    late = second.patch(f"/api/v1/teams/{team.pk}", {"name": "East"}, **{"If-Match": etag})
    assert late.status_code == 412
    assert error(late)["code"] == "stale_version"
    team.refresh_from_db()
    assert (team.name, team.version) == ("South", 2)
    assert Event.objects.filter(verb="team.updated").count() == 1


def test_a_stale_etag_on_a_member_is_refused_and_changes_nothing(api, org, admin):
    member = MembershipFactory.create(org=org, role=Role.SALES)
    Membership.objects.filter(pk=member.pk).update(version=3)
    resp = api(admin).patch(f"/api/v1/members/{member.pk}", {"role": "viewer"}, **{"If-Match": '"v2"'})
    assert resp.status_code == 412
    member.refresh_from_db()
    assert (member.role, member.version) == (Role.SALES, 3)
    assert not Event.objects.filter(verb="member.updated").exists()


@pytest.mark.parametrize("header", ["v1", "1", '"1"', '"x1"', '"v1", "v2"', '"v-1"'])
def test_an_if_match_that_names_no_version_is_refused_with_412(api, org, admin, header):
    team = TeamFactory.create(org=org, name="North")
    resp = api(admin).patch(f"/api/v1/teams/{team.pk}", {"name": "South"}, **{"If-Match": header})
    assert resp.status_code == 412
    assert error(resp)["code"] == "stale_version"
    assert Team.objects.get(pk=team.pk).name == "North"


def test_if_match_star_updates_whatever_the_version(api, org, admin):
    team = TeamFactory.create(org=org, name="North")
    Team.objects.filter(pk=team.pk).update(version=5)
    resp = api(admin).patch(f"/api/v1/teams/{team.pk}", {"name": "South"}, **{"If-Match": "*"})
    assert resp.status_code == 200
    assert resp["ETag"] == '"v6"'
    team.refresh_from_db()
    assert (team.name, team.version) == ("South", 6)


# --- Idempotency-Key ------------------------------------------------------------------------


def test_the_same_key_and_body_replays_the_first_answer_and_creates_once(api, org, admin):
    client = api(admin)
    first = client.post("/api/v1/teams", {"name": "North"}, **{"Idempotency-Key": "create-north"})
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    TeamFactory.create(org=org, name="Later")  # the replay is the stored answer, not a fresh read
    replay = client.post("/api/v1/teams", {"name": "North"}, **{"Idempotency-Key": "create-north"})
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert Team.objects.filter(org=org, name="North").count() == 1
    assert Event.objects.filter(verb="team.created").count() == 1
    assert IdempotencyRecord.objects.filter(key="create-north").count() == 1


def test_the_same_key_with_another_body_is_refused(api, org, admin):
    client = api(admin)
    client.post("/api/v1/teams", {"name": "North"}, **{"Idempotency-Key": "k-1"})
    resp = client.post("/api/v1/teams", {"name": "South"}, **{"Idempotency-Key": "k-1"})
    assert resp.status_code == 422
    assert error(resp)["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in error(resp)["fields"]
    assert not Team.objects.filter(name="South").exists()


def test_the_same_key_on_another_endpoint_is_refused(api, admin):
    client = api(admin)
    client.post("/api/v1/teams", {"name": "North"}, **{"Idempotency-Key": "k-2"})
    resp = client.post("/api/v1/tokens", {"name": "North"}, **{"Idempotency-Key": "k-2"})
    assert resp.status_code == 422
    assert error(resp)["code"] == "idempotency_key_reused"
    assert not ApiToken.objects.filter(name="North").exists()


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "tab\tinside", "caf\u00e9"])
def test_an_invalid_key_is_refused_and_nothing_is_created(api, admin, key):
    resp = api(admin).post("/api/v1/teams", {"name": "North"}, **{"Idempotency-Key": key})
    assert resp.status_code == 422
    assert error(resp)["code"] == "invalid_idempotency_key"
    assert not Team.objects.exists()
    assert not IdempotencyRecord.objects.exists()


def test_keys_belong_to_their_user(api, org, admin, member_of):
    mine = api(admin).post("/api/v1/teams", {"name": "North"}, **{"Idempotency-Key": "shared"})
    theirs = api(member_of(Role.ADMIN)).post("/api/v1/teams", {"name": "South"}, **{"Idempotency-Key": "shared"})
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert set(Team.objects.filter(org=org).values_list("name", flat=True)) == {"North", "South"}


def test_a_key_whose_request_failed_is_not_remembered(api, org, admin):
    TeamFactory.create(org=org, name="North")
    client = api(admin)
    conflict = client.post("/api/v1/teams", {"name": "North"}, **{"Idempotency-Key": "retry-me"})
    assert conflict.status_code == 409
    assert not IdempotencyRecord.objects.exists()
    fixed = client.post("/api/v1/teams", {"name": "South"}, **{"Idempotency-Key": "retry-me"})
    assert fixed.status_code == 201
    assert "Idempotent-Replayed" not in fixed
    assert Team.objects.filter(org=org, name="South").count() == 1


def test_without_a_key_every_post_creates(api, org, admin):
    client = api(admin)
    client.post("/api/v1/tokens", {"name": "twice"})
    client.post("/api/v1/tokens", {"name": "twice"})
    assert ApiToken.objects.filter(name="twice").count() == 2


# --- cursor pagination ----------------------------------------------------------------------


def _walk(client: ApiClient, path: str, limit: int) -> tuple[list[int], int]:
    ids: list[int] = []
    cursor, pages = None, 0
    while True:
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(path + query).json()
        pages += 1
        assert len(body["items"]) <= limit
        ids += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids, pages
        assert pages < 100


def _many_teams(org: Any, n: int) -> list[int]:
    teams = [TeamFactory.create(org=org, name=f"Team {i:03d}") for i in range(n)]
    # Ties on the first ordering field: only the id can tell these rows apart.
    moments = [timezone.now() - timedelta(minutes=m) for m in (1, 2, 3)]
    for i, team in enumerate(teams):
        Team.objects.filter(pk=team.pk).update(created_at=moments[i % 3])
    return list(Team.objects.filter(org=org).order_by("-created_at", "-id").values_list("pk", flat=True))


def test_cursor_pagination_walks_every_row_once_in_order(api, org, other_org, admin):
    expected = _many_teams(org, 23)
    TeamFactory.create(org=other_org)
    ids, pages = _walk(api(admin), "/api/v1/teams", limit=5)
    assert ids == expected
    assert len(set(ids)) == 23
    assert pages == 5


def test_a_page_size_that_divides_the_rows_ends_without_an_empty_page(api, org, admin):
    _many_teams(org, 10)
    ids, pages = _walk(api(admin), "/api/v1/teams", limit=5)
    assert (len(ids), pages) == (10, 2)


def test_cursor_pagination_is_stable_when_rows_are_added_and_removed_between_pages(api, org, admin):
    expected = _many_teams(org, 12)
    client = api(admin)
    page = client.get("/api/v1/teams?limit=4").json()
    seen = [item["id"] for item in page["items"]]
    assert seen == expected[:4]
    TeamFactory.create(org=org, name="Newcomer")  # newest: sorts before everything already seen
    Team.objects.filter(pk=expected[9]).delete()
    cursor = page["next_cursor"]
    while cursor:
        page = client.get(f"/api/v1/teams?limit=4&cursor={cursor}").json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [pk for pk in expected if pk != expected[9]]


def test_paginate_handles_ascending_orderings_with_ties(org):
    teams = [TeamFactory.create(org=org) for _ in range(7)]
    Team.objects.filter(pk__in=[t.pk for t in teams[::2]]).update(version=2)
    qs = Team.objects.filter(org=org)
    expected = list(qs.order_by("version", "id").values_list("pk", flat=True))
    ids: list[int] = []
    cursor = None
    while True:
        page = paginate(qs, cursor=cursor, limit=2, ordering=("version", "id"))
        ids += [t.pk for t in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert ids == expected


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        "bm90IGpzb24",  # "not json"
        cursor_of({"a": 1}),
        cursor_of(["2024-01-01T00:00:00+00:00"]),
        cursor_of(["2024-01-01T00:00:00+00:00", 1, 2]),
        cursor_of(["yesterday", 1]),
        cursor_of(["2024-01-01T00:00:00+00:00", "one"]),
        cursor_of([None, None]),
        cursor_of(["2024-01-01T00:00:00+00:00", None]),
        cursor_of([[1], {"x": 1}]),
    ],
)
def test_a_bad_cursor_is_a_validation_error_on_the_cursor(api, org, admin, cursor):
    TeamFactory.create(org=org)
    resp = api(admin).get(f"/api/v1/teams?cursor={cursor}")
    assert resp.status_code == 422, resp.content
    err = error(resp)
    assert err["code"] == "invalid_cursor"
    assert list(err["fields"]) == ["cursor"]


def test_paginate_rejects_a_bad_cursor_directly(org):
    with pytest.raises(ValidationFailed):
        paginate(Team.objects.all(), cursor=cursor_of([None, None]))


@pytest.mark.parametrize("limit", ["0", "-1", str(MAX_LIMIT + 1), "100000000000000000000000"])
def test_a_limit_out_of_range_is_refused(api, admin, limit):
    resp = api(admin).get(f"/api/v1/teams?limit={limit}")
    assert resp.status_code == 422
    assert error(resp)["code"] == "invalid_limit"
    assert list(error(resp)["fields"]) == ["limit"]


def test_a_limit_that_is_not_a_number_is_refused(api, admin):
    resp = api(admin).get("/api/v1/teams?limit=many")
    assert resp.status_code == 422
    assert list(error(resp)["fields"]) == ["limit"]


def test_the_largest_limit_is_allowed(api, org, admin):
    _many_teams(org, 3)
    resp = api(admin).get(f"/api/v1/teams?limit={MAX_LIMIT}")
    assert resp.status_code == 200
    assert len(resp.json()["items"]) == 3 and resp.json()["next_cursor"] is None


# --- malformed requests and the one error shape ---------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ('{"name": "North"', "application/json", 400),
        ("name=North", "application/x-www-form-urlencoded", 400),
        ("[1, 2]", "application/json", 422),
        ('"North"', "application/json", 422),
        ("null", "application/json", 422),
        ("", "application/json", 422),
    ],
)
def test_a_body_that_is_not_the_expected_json_is_a_clear_4xx(api, admin, body, content_type, status):
    client = api(admin).client
    resp = client.post("/api/v1/teams", data=body, content_type=content_type)
    assert resp.status_code == status, resp.content
    error(resp)
    assert not Team.objects.exists()


def _requests(api: Any, org: Any, admin: Any, member_of: Any) -> dict[str, tuple[int, Any]]:
    """One request per error status the API answers, each made when called."""
    client = api(admin)
    team = TeamFactory.create(org=org, name="North")
    TeamFactory.create(org=org, name="South")
    viewer = api(member_of(Role.VIEWER))
    reader = api(admin, scope="read")
    anonymous = Client()

    def locked_out() -> Any:
        for _ in range(5):
            anonymous.post(
                "/api/v1/auth/token",
                data=json.dumps({"email": admin.user.email, "password": "wrong"}),
                content_type="application/json",
            )
        return anonymous.post(
            "/api/v1/auth/token",
            data=json.dumps({"email": admin.user.email, "password": "wrong"}),
            content_type="application/json",
        )

    return {
        "malformed json": (400, lambda: client.client.post("/api/v1/teams", "{", content_type="application/json")),
        "no credentials": (401, lambda: anonymous.get("/api/v1/me")),
        "bad bearer token": (401, lambda: ApiClient("rpt_nope").get("/api/v1/me")),
        "wrong password": (
            401,
            lambda: anonymous.post(
                "/api/v1/auth/token",
                data=json.dumps({"email": admin.user.email, "password": "nope"}),
                content_type="application/json",
            ),
        ),
        "role": (403, lambda: viewer.post("/api/v1/teams", {"name": "X"})),
        "read-only token": (403, lambda: reader.post("/api/v1/teams", {"name": "X"})),
        "unknown id": (404, lambda: client.get("/api/v1/teams/987654321")),
        "unknown path": (404, lambda: client.get("/api/v1/no-such-thing")),
        "wrong method": (405, lambda: client.client.put("/api/v1/teams")),
        "conflict": (409, lambda: client.post("/api/v1/teams", {"name": "North"})),
        "stale": (412, lambda: client.patch(f"/api/v1/teams/{team.pk}", {"name": "X"}, **{"If-Match": '"v9"'})),
        "validation": (422, lambda: client.post("/api/v1/teams", {"name": ""})),
        "bad cursor": (422, lambda: client.get("/api/v1/teams?cursor=%%%")),
        "no if-match": (428, lambda: client.patch(f"/api/v1/teams/{team.pk}", {"name": "X"})),
        "locked out": (429, locked_out),
    }


ERROR_CASES = [
    "malformed json",
    "no credentials",
    "bad bearer token",
    "wrong password",
    "role",
    "read-only token",
    "unknown id",
    "unknown path",
    "wrong method",
    "conflict",
    "stale",
    "validation",
    "bad cursor",
    "no if-match",
    "locked out",
]


@pytest.mark.parametrize("case", ERROR_CASES)
def test_every_error_has_the_one_error_shape(api, org, admin, member_of, case):
    status, send = _requests(api, org, admin, member_of)[case]
    resp = send()
    assert resp.status_code == status, resp.content[:300]
    error(resp)


def test_the_error_cases_cover_every_status_the_api_documents(api, org, admin, member_of):
    requests = _requests(api, org, admin, member_of)
    assert set(ERROR_CASES) == set(requests)
    assert {status for status, _ in requests.values()} >= {400, 401, 403, 404, 405, 409, 412, 422, 428, 429}


def test_an_unknown_api_path_keeps_the_allow_header_on_405(api, admin):
    resp = api(admin).client.put("/api/v1/teams")
    assert resp.status_code == 405
    assert set(resp["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}


# --- no input produces a 500 ----------------------------------------------------------------

NUL = "\u0000"
HUGE = 10**30


def _nasty(client: ApiClient, anonymous: Client, team: Team) -> dict[str, Any]:
    def login(**body: Any) -> Any:
        return anonymous.post("/api/v1/auth/token", data=json.dumps(body), content_type="application/json")

    return {
        "cursor of nulls": lambda: client.get(f"/api/v1/teams?cursor={cursor_of([None, None])}"),
        "huge cursor id": lambda: client.get(f"/api/v1/teams?cursor={cursor_of(['2024-01-01T00:00:00Z', HUGE])}"),
        "huge actor id": lambda: client.get(f"/api/v1/events?actor_id={HUGE}"),
        "huge subject id": lambda: client.get(f"/api/v1/events?subject_id={HUGE}"),
        "huge path id": lambda: client.get(f"/api/v1/teams/{HUGE}"),
        "huge member id": lambda: client.post("/api/v1/teams", {"name": "X", "member_ids": [HUGE]}),
        "huge member id on patch": lambda: client.patch(
            f"/api/v1/teams/{team.pk}", {"member_ids": [2**63]}, **{"If-Match": "*"}
        ),
        "huge if-match": lambda: client.patch(
            f"/api/v1/teams/{team.pk}", {"name": "Y"}, **{"If-Match": '"v9999999999"'}
        ),
        "nul in team name": lambda: client.post("/api/v1/teams", {"name": f"a{NUL}b"}),
        "nul in token name": lambda: client.post("/api/v1/tokens", {"name": f"a{NUL}b"}),
        "nul in email": lambda: client.post("/api/v1/members/invitations", {"email": f"a{NUL}@x.org", "role": "sales"}),
        "nul in login": lambda: login(email=f"a{NUL}@example.org", password="x"),
        "nul in verb filter": lambda: client.get("/api/v1/events?verb=team%00"),
        "nul in cursor": lambda: client.get("/api/v1/teams?cursor=%00"),
        "naive expiry": lambda: client.post("/api/v1/tokens", {"name": "n", "expires_at": "2999-01-01T00:00:00"}),
        "expiry past year 9999 in utc": lambda: client.post(
            "/api/v1/tokens", {"name": "n", "expires_at": "9999-12-31T23:00:00-12:00"}
        ),
        "since before year 1 in utc": lambda: client.get("/api/v1/events?since=0001-01-01T00:00:00%2B05:00"),
        "naive since": lambda: client.get("/api/v1/events?since=2024-01-01T00:00:00&until=2024-02-01T00:00:00Z"),
        "string for a list": lambda: client.post("/api/v1/teams", {"name": "X", "member_ids": "1,2"}),
        "deep json": lambda: client.client.post(
            "/api/v1/teams", data="[" * 100_000 + "]" * 100_000, content_type="application/json"
        ),
    }


NASTY_CASES = [
    ("cursor of nulls", 422),
    ("huge cursor id", 200),  # a well-formed cursor past the last row: an empty page
    ("huge actor id", 422),
    ("huge subject id", 422),
    ("huge path id", 404),
    ("huge member id", 422),
    ("huge member id on patch", 422),
    ("huge if-match", 412),
    ("nul in team name", 400),
    ("nul in token name", 400),
    ("nul in email", 400),
    ("nul in login", 400),
    ("nul in verb filter", 422),
    ("nul in cursor", 422),
    ("naive expiry", 422),
    ("expiry past year 9999 in utc", 422),
    ("since before year 1 in utc", 422),
    ("naive since", 422),
    ("string for a list", 422),
    ("deep json", 400),
]


@pytest.mark.parametrize(("case", "status"), NASTY_CASES)
def test_no_input_produces_a_500(api, org, admin, case, status):
    team = TeamFactory.create(org=org, name="North")
    client = api(admin)
    before = (Team.objects.count(), ApiToken.objects.count(), Event.objects.count())
    resp = _nasty(client, Client(), team)[case]()
    assert resp.status_code == status, resp.content[:300]
    if status >= 400:
        error(resp)
    assert (Team.objects.count(), ApiToken.objects.count(), Event.objects.count()) == before
    team.refresh_from_db()
    assert (team.name, team.version) == ("North", 1)


def test_the_nasty_cases_are_all_run(api, org, admin):
    assert {case for case, _ in NASTY_CASES} == set(_nasty(api(admin), Client(), TeamFactory.create(org=org)))
