"""Who may read and write contacts and companies (rapport/accounts/roles.py), and cross-workspace 404s.

Sales and support read all contacts and companies but write only their own and their teams' ones;
marketing, managers and admins write all; viewers and read-only tokens write nothing. A record of
another workspace answers 404 on every endpoint, exactly like a missing one, and nothing changes.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from rapport.accounts.models import Membership
from rapport.accounts.roles import Role
from rapport.contacts.models import Company, Contact
from rapport.contacts.tests.factories import CompanyFactory, api_error, contact_with
from rapport.core.models import Event
from rapport.core.principal import Principal
from rapport.testing.factories import TeamFactory, make_principal

CONTACTS = "/api/v1/contacts"
COMPANIES = "/api/v1/companies"
MATCH = {"If-Match": "*"}


def in_team(principal: Principal, team: Any) -> Principal:
    """The principal again, after joining `team` (team ids are read when a principal is built)."""
    membership = Membership.objects.get(org_id=principal.org_id, user_id=principal.user_id)
    team.members.add(membership)
    return Principal.for_membership(membership)


def state(model: Any, pk: int) -> dict[str, Any]:
    obj = model.objects.get(pk=pk)
    return {f.attname: getattr(obj, f.attname) for f in model._meta.concrete_fields}


def writes() -> int:
    return Event.objects.filter(subject_type__in=["contact", "company"]).count()


# --- sales: read all, write own and team ----------------------------------------------------


def test_sales_reads_every_contact_of_the_workspace(api, admin, org, member_of):
    rep = member_of(Role.SALES)
    admins = contact_with(org, first_name="Admins", owner=admin.user)
    nobodys = contact_with(org, first_name="Nobodys")
    client = api(rep)
    listed = {c["id"] for c in client.get(CONTACTS).json()["items"]}
    assert listed == {admins.pk, nobodys.pk}
    assert client.get(f"{CONTACTS}/{admins.pk}").status_code == 200


def test_sales_cannot_change_an_admins_contact_outside_their_teams(api, admin, org, member_of):
    rep = in_team(member_of(Role.SALES), TeamFactory.create(org=org, name="Reps"))
    other_team = TeamFactory.create(org=org, name="Others")
    contact = contact_with(org, first_name="Admins", owner=admin.user, team=other_team)
    before, events = state(Contact, contact.pk), writes()
    client = api(rep)
    assert api_error(client.patch(f"{CONTACTS}/{contact.pk}", {"first_name": "Taken"}, **MATCH), 403)["code"] == (
        "permission_denied"
    )
    api_error(client.delete(f"{CONTACTS}/{contact.pk}"), 403)
    assert state(Contact, contact.pk) == before
    assert writes() == events


def test_sales_cannot_restore_someone_elses_trashed_contact(api, admin, org, member_of):
    rep = member_of(Role.SALES)
    contact = contact_with(org, first_name="Admins", owner=admin.user, deleted_at=timezone.now())
    api_error(api(rep).post(f"{CONTACTS}/{contact.pk}/restore"), 403)
    assert Contact.objects.get(pk=contact.pk).deleted_at is not None
    assert not Event.objects.filter(verb="contact.restored").exists()


def test_sales_may_change_a_contact_of_one_of_their_teams(api, admin, org, member_of):
    team = TeamFactory.create(org=org)
    rep = in_team(member_of(Role.SALES), team)
    contact = contact_with(org, first_name="Shared", owner=admin.user, team=team)
    resp = api(rep).patch(f"{CONTACTS}/{contact.pk}", {"job_title": "Buyer"}, **MATCH)
    assert resp.status_code == 200, resp.content
    assert Contact.objects.get(pk=contact.pk).job_title == "Buyer"


def test_sales_may_change_and_trash_their_own_contact(api, org, member_of):
    rep = member_of(Role.SALES)
    client = api(rep)
    created = client.post(CONTACTS, {"first_name": "Mine"})
    assert created.status_code == 201 and created.json()["owner"]["id"] == rep.user_id
    pk = created.json()["id"]
    assert client.patch(f"{CONTACTS}/{pk}", {"last_name": "Own"}, **MATCH).status_code == 200
    assert client.delete(f"{CONTACTS}/{pk}").status_code == 204
    assert client.post(f"{CONTACTS}/{pk}/restore").status_code == 200


def test_a_new_contact_of_a_one_team_member_joins_that_team(api, org, member_of):
    team = TeamFactory.create(org=org)
    rep = in_team(member_of(Role.SALES), team)
    body = api(rep).post(CONTACTS, {"first_name": "Mine"}).json()
    assert body["team"]["id"] == team.pk


def test_sales_cannot_change_an_admins_company_outside_their_teams(api, admin, org, member_of):
    rep = member_of(Role.SALES)
    company = CompanyFactory.create(org=org, name="Initech", owner=admin.user)
    before = state(Company, company.pk)
    client = api(rep)
    assert client.get(f"{COMPANIES}/{company.pk}").status_code == 200
    api_error(client.patch(f"{COMPANIES}/{company.pk}", {"name": "Taken"}, **MATCH), 403)
    api_error(client.delete(f"{COMPANIES}/{company.pk}"), 403)
    assert state(Company, company.pk) == before


def test_sales_may_change_a_company_of_their_team(api, admin, org, member_of):
    team = TeamFactory.create(org=org)
    rep = in_team(member_of(Role.SALES), team)
    company = CompanyFactory.create(org=org, name="Initech", owner=admin.user, team=team)
    assert api(rep).patch(f"{COMPANIES}/{company.pk}", {"name": "Initrode"}, **MATCH).status_code == 200
    assert Company.objects.get(pk=company.pk).name == "Initrode"


def test_sales_can_reassign_only_what_they_may_write(api, admin, org, member_of):
    rep = member_of(Role.SALES)
    own = contact_with(org, first_name="Own", owner=rep.user)
    resp = api(rep).patch(f"{CONTACTS}/{own.pk}", {"owner_id": admin.user_id}, **MATCH)
    assert resp.status_code == 200
    # having given it away, the rep may no longer change it
    api_error(api(rep).patch(f"{CONTACTS}/{own.pk}", {"first_name": "Back"}, **MATCH), 403)
    assert Contact.objects.get(pk=own.pk).first_name == "Own"


# --- support, marketing, manager, viewer, read-only tokens -----------------------------------


def test_support_writes_team_contacts_only(api, admin, org, member_of):
    team = TeamFactory.create(org=org)
    agent = in_team(member_of(Role.SUPPORT), team)
    in_team_contact = contact_with(org, first_name="Team", owner=admin.user, team=team)
    outside = contact_with(org, first_name="Outside", owner=admin.user)
    client = api(agent)
    assert client.patch(f"{CONTACTS}/{in_team_contact.pk}", {"notes": "called"}, **MATCH).status_code == 200
    api_error(client.patch(f"{CONTACTS}/{outside.pk}", {"notes": "called"}, **MATCH), 403)
    assert Contact.objects.get(pk=outside.pk).notes == ""
    assert client.get(f"{CONTACTS}/{outside.pk}").status_code == 200


@pytest.mark.parametrize("role", [Role.MARKETING, Role.MANAGER, Role.ADMIN])
def test_roles_with_write_all_change_anyones_contact(api, admin, org, member_of, role):
    someone = member_of(Role.SALES)
    contact = contact_with(org, first_name="Theirs", owner=someone.user)
    assert api(member_of(role)).patch(f"{CONTACTS}/{contact.pk}", {"job_title": "X"}, **MATCH).status_code == 200
    assert Contact.objects.get(pk=contact.pk).job_title == "X"


def test_a_viewer_reads_but_cannot_create_change_or_delete(api, admin, org, member_of):
    viewer = member_of(Role.VIEWER)
    contact = contact_with(org, first_name="Jo", owner=admin.user)
    company = CompanyFactory.create(org=org, name="Initech")
    before, events = state(Contact, contact.pk), writes()
    client = api(viewer)
    assert client.get(CONTACTS).status_code == 200
    assert client.get(f"{CONTACTS}/{contact.pk}").status_code == 200
    assert client.get(f"{COMPANIES}/{company.pk}").status_code == 200
    api_error(client.post(CONTACTS, {"first_name": "New"}), 403)
    api_error(client.post(COMPANIES, {"name": "New"}), 403)
    api_error(client.patch(f"{CONTACTS}/{contact.pk}", {"first_name": "X"}, **MATCH), 403)
    api_error(client.delete(f"{CONTACTS}/{contact.pk}"), 403)
    api_error(client.delete(f"{COMPANIES}/{company.pk}"), 403)
    assert state(Contact, contact.pk) == before
    assert Contact.objects.count() == 1 and Company.objects.count() == 1
    assert writes() == events


def test_a_read_only_token_cannot_write(api, admin, org):
    contact = contact_with(org, first_name="Jo", owner=admin.user)
    company = CompanyFactory.create(org=org, name="Initech", deleted_at=timezone.now())
    before, events = state(Contact, contact.pk), writes()
    client = api(admin, "read")
    assert client.get(f"{CONTACTS}/{contact.pk}").status_code == 200
    api_error(client.post(CONTACTS, {"first_name": "New"}), 403)
    api_error(client.patch(f"{CONTACTS}/{contact.pk}", {"first_name": "X"}, **MATCH), 403)
    api_error(client.delete(f"{CONTACTS}/{contact.pk}"), 403)
    api_error(client.post(f"{COMPANIES}/{company.pk}/restore"), 403)
    assert state(Contact, contact.pk) == before
    assert Contact.objects.count() == 1 and Company.objects.get(pk=company.pk).deleted_at is not None
    assert writes() == events


def test_without_a_token_the_api_answers_401(client, org):
    contact = contact_with(org, first_name="Jo")
    assert client.get(f"{CONTACTS}/{contact.pk}").status_code == 401
    assert client.get(CONTACTS).status_code == 401


# --- cross-workspace -------------------------------------------------------------------------


@pytest.fixture
def theirs(other_admin: Principal, other_org: Any) -> dict[str, Any]:
    """Records of workspace B: a live and a trashed contact, a live and a trashed company."""
    company = CompanyFactory.create(org=other_org, name="Globex", owner=other_admin.user)
    return {
        "contact": contact_with(
            other_org, first_name="Theirs", email="theirs@example.org", company=company, owner=other_admin.user
        ),
        "trashed_contact": contact_with(other_org, first_name="Gone", deleted_at=timezone.now()),
        "company": company,
        "trashed_company": CompanyFactory.create(org=other_org, name="Gone Inc", deleted_at=timezone.now()),
    }


def _b_state(theirs: dict[str, Any], other_org: Any) -> Any:
    return (
        {key: state(type(obj), obj.pk) for key, obj in theirs.items()},
        list(Event.objects.filter(org=other_org).values_list("pk", flat=True)),
    )


ENDPOINTS: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("get", CONTACTS + "/{}", "contact", None),
    ("patch", CONTACTS + "/{}", "contact", {"first_name": "Taken"}),
    ("delete", CONTACTS + "/{}", "contact", None),
    ("post", CONTACTS + "/{}/restore", "trashed_contact", None),
    ("post", CONTACTS + "/{}/restore", "contact", None),
    ("post", CONTACTS + "/{}/convert", "contact", {"pipeline_id": 1}),  # lead conversion (rapport.sales.lead_api)
    ("get", COMPANIES + "/{}", "company", None),
    ("patch", COMPANIES + "/{}", "company", {"name": "Taken"}),
    ("delete", COMPANIES + "/{}", "company", None),
    ("post", COMPANIES + "/{}/restore", "trashed_company", None),
]


def _send(client: Any, method: str, url: str, body: dict[str, Any] | None) -> Any:
    if method == "patch":
        return client.patch(url, body, **{"If-Match": '"v1"'})
    if method == "post":
        return client.post(url, body)
    return getattr(client, method)(url)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SALES, Role.VIEWER])
@pytest.mark.parametrize(("method", "template", "key", "body"), ENDPOINTS)
def test_every_endpoint_answers_404_for_a_record_of_another_workspace(
    api, org, other_org, theirs, role, method, template, key, body
):
    client = api(make_principal(org, role))
    before = _b_state(theirs, other_org)
    resp = _send(client, method, template.format(theirs[key].pk), body)
    assert api_error(resp, 404)["code"] == "not_found"
    assert _b_state(theirs, other_org) == before


def test_every_contacts_endpoint_with_an_id_is_in_the_cross_workspace_list():
    from rapport.config.api import api

    paths = api.get_openapi_schema()["paths"]
    documented = {
        (method, path)
        for path, ops in paths.items()
        if "{" in path and path.startswith(("/api/v1/contacts", "/api/v1/companies"))
        for method in ops
    }
    covered = {
        (method, template.replace("{}", "{contact_id}" if "contacts" in template else "{company_id}"))
        for method, template, _key, _body in ENDPOINTS
    }
    assert documented == covered


def test_lists_filters_and_bulk_never_reach_another_workspace(api, admin, other_org, theirs):
    client = api(admin)
    assert client.get(CONTACTS).json()["items"] == []
    assert client.get(f"{CONTACTS}?trashed=true").json()["items"] == []
    assert client.get(COMPANIES).json()["items"] == []
    assert client.get(f"{CONTACTS}?filter=company_id:eq:{theirs['company'].pk}").json()["items"] == []
    assert client.get(f"{CONTACTS}?filter=email:eq:theirs@example.org").json()["items"] == []
    before = _b_state(theirs, other_org)
    body = client.post(
        "/api/v1/contacts/bulk",
        {"match_on": "email", "records": [{"first_name": "Mine", "emails": [{"email": "theirs@example.org"}]}]},
    ).json()
    assert [r["status"] for r in body["results"]] == ["created"]
    assert _b_state(theirs, other_org) == before
