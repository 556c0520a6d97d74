"""Saved views (GET/POST/PATCH/DELETE /api/v1/views): a user sees their own and their teams' shared
views, only the owner changes them, other workspaces' views are 404, bad input 422 and nothing saved."""

from __future__ import annotations

from rapport.accounts.models import Membership
from rapport.accounts.roles import Role
from rapport.contacts.models import SavedView
from rapport.contacts.tests.factories import api_error
from rapport.core.principal import Principal
from rapport.testing.factories import TeamFactory

URL = "/api/v1/views"


def in_team(principal, team):
    membership = Membership.objects.get(org_id=principal.org_id, user_id=principal.user_id)
    team.members.add(membership)
    return Principal.for_membership(membership)


def view_body(**extra):
    return {
        "name": "French leads",
        "entity": "contact",
        "conditions": ["country:eq:FR"],
        "sort": "-created_at",
        "columns": ["full_name", "email"],
        **extra,
    }


def test_create_list_update_delete_own_view(api, admin):
    client = api(admin)
    resp = client.post(URL, view_body())
    assert resp.status_code == 201, resp.content
    view_id = resp.json()["id"]
    assert resp.json()["columns"] == ["full_name", "email"]
    assert [v["id"] for v in client.get(URL + "?entity=contact").json()] == [view_id]
    assert client.get(URL + "?entity=company").json() == []
    assert client.patch(f"{URL}/{view_id}", {"name": "FR"}).json()["name"] == "FR"
    assert client.delete(f"{URL}/{view_id}").status_code == 204
    assert not SavedView.objects.exists()


def test_a_view_shared_with_a_team_is_seen_by_its_members_but_only_the_owner_changes_it(api, org, member_of):
    team = TeamFactory.create(org=org, name="Reps")
    owner = in_team(member_of(Role.SALES), team)
    mate = in_team(member_of(Role.SALES), team)
    outsider = member_of(Role.SALES)
    view_id = api(owner).post(URL, view_body(team_id=team.pk)).json()["id"]
    assert [v["id"] for v in api(mate).get(URL).json()] == [view_id]
    assert api(outsider).get(URL).json() == []
    api_error(api(outsider).get(f"{URL}/{view_id}"), 404)
    api_error(api(mate).patch(f"{URL}/{view_id}", {"name": "Mine now"}), 404)
    api_error(api(mate).delete(f"{URL}/{view_id}"), 404)
    assert SavedView.objects.get().name == "French leads"


def test_sharing_with_a_team_one_is_not_in_is_refused(api, org, admin):
    team = TeamFactory.create(org=org, name="Others")
    err = api_error(api(admin).post(URL, view_body(team_id=team.pk)), 422)
    assert "team_id" in err["fields"]
    assert not SavedView.objects.exists()


def test_views_of_another_workspace_answer_404(api, admin, other_admin):
    view_id = api(other_admin).post(URL, view_body()).json()["id"]
    api_error(api(admin).get(f"{URL}/{view_id}"), 404)
    api_error(api(admin).patch(f"{URL}/{view_id}", {"name": "x"}), 404)
    api_error(api(admin).delete(f"{URL}/{view_id}"), 404)
    assert api(admin).get(URL).json() == []
    assert SavedView.objects.get().name == "French leads"


def test_bad_conditions_sort_or_columns_answer_422_and_save_nothing(api, admin):
    client = api(admin)
    for body, field in [
        (view_body(conditions=["nosuch:eq:1"]), None),
        (view_body(sort="nosuch"), "sort"),
        (view_body(columns=["password"]), "columns"),
        (view_body(name="  "), "name"),
    ]:
        err = api_error(client.post(URL, body), 422)
        if field:
            assert field in err["fields"]
    assert not SavedView.objects.exists()


# --- the list page --------------------------------------------------------------------------


def test_page_saves_a_view_and_opening_it_applies_filters_and_columns(web, admin, org):
    from rapport.contacts.tests.factories import contact_with

    contact_with(org, first_name="Amelie", country="FR", email="amelie@example.fr")
    contact_with(org, first_name="Bernd", country="DE")
    client = web(admin)
    resp = client.post(
        "/contacts/views/save/", {"name": "French", "query": "country=FR", "columns": ["email", "country"]}
    )
    view = SavedView.objects.get()
    assert resp.status_code == 302 and resp["Location"].endswith(f"?view={view.pk}")
    assert view.conditions == ["country:eq:FR"] and view.columns == ["email", "country"]
    html = client.get(f"/contacts/?view={view.pk}").content.decode()
    assert "Amelie" in html and "Bernd" not in html
    assert 'data-label="Email"' in html and 'data-label="Owner"' not in html
    assert f'href="?view={view.pk}" aria-current="page"' in html


def test_page_refuses_unknown_columns_and_saves_nothing(web, admin):
    resp = web(admin).post("/contacts/views/save/", {"name": "x", "columns": ["password"]}, follow=True)
    assert "The view was not saved" in resp.content.decode()
    assert not SavedView.objects.exists()


def test_page_does_not_open_another_users_private_view(web, admin, member_of, org):
    from rapport.contacts.tests.factories import contact_with

    contact_with(org, first_name="Bernd", country="DE")
    other = member_of(Role.SALES)
    view = SavedView.objects.create(
        org=org, owner=other.user, name="Secret", entity="contact", conditions=["country:eq:FR"]
    )
    html = web(admin).get(f"/contacts/?view={view.pk}").content.decode()
    assert "Secret" not in html and "Bernd" in html
