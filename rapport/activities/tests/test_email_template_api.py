"""The email templates API: CRUD with ETag / If-Match, render for a contact, permissions, workspaces."""

from __future__ import annotations

from typing import Any

from rapport.accounts.roles import Role
from rapport.activities import email_template_services as services
from rapport.activities.models import EmailTemplate
from rapport.contacts.tests.factories import api_error, contact_with
from rapport.core.models import Event

URL = "/api/v1/email-templates"


def _state(pk: int) -> dict[str, Any]:
    obj = EmailTemplate.objects.get(pk=pk)
    return {f.attname: getattr(obj, f.attname) for f in EmailTemplate._meta.concrete_fields}


def _make(actor: Any, name: str = "Follow-up") -> EmailTemplate:
    return services.email_template_create(
        actor=actor,
        data={"name": name, "subject": "Hi {{ contact.first_name }}", "body": "Dear {{ contact.first_name }}"},
    )


def test_create_get_patch_render_and_delete(api, admin, ada):
    client = api(admin)
    resp = client.post(
        URL, {"name": "Intro", "subject": "Hello {{ contact.first_name }}", "body": "From {{ company.name }}"}
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    pk = body["id"]
    assert body["owner"]["id"] == admin.user_id and body["can_edit"] is True and resp["ETag"] == '"v1"'
    resp = client.get(f"{URL}/{pk}")
    assert resp.status_code == 200 and resp["ETag"] == '"v1"'
    api_error(client.patch(f"{URL}/{pk}", {"name": "Intro 2"}), 428)
    resp = client.patch(f"{URL}/{pk}", {"name": "Intro 2"}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200 and resp.json()["name"] == "Intro 2" and resp["ETag"] == '"v2"'
    api_error(client.patch(f"{URL}/{pk}", {"name": "Intro 3"}, **{"If-Match": '"v1"'}), 412)
    resp = client.post(f"{URL}/{pk}/render", {"contact_id": ada.pk})
    assert resp.status_code == 200 and resp.json() == {"subject": "Hello Ada", "body": "From Acme Corp"}
    assert client.delete(f"{URL}/{pk}").status_code == 204
    api_error(client.get(f"{URL}/{pk}"), 404)


def test_a_syntax_error_is_a_422_on_its_field_and_nothing_is_saved(api, admin):
    err = api_error(api(admin).post(URL, {"name": "Bad", "body": "Hi\n{% load static %}"}), 422)
    assert "{% load %}" in err["fields"]["body"] and "Line 2" in err["fields"]["body"]
    template = _make(admin)
    before = _state(template.pk)
    err = api_error(
        api(admin).patch(f"{URL}/{template.pk}", {"subject": "{{ x.__class__ }}"}, **{"If-Match": "*"}), 422
    )
    assert "subject" in err["fields"]
    assert EmailTemplate.objects.count() == 1 and _state(template.pk) == before
    assert Event.objects.filter(verb__startswith="email_template").count() == 1


def test_the_list_is_sorted_by_name_and_a_fixed_number_of_queries(api, admin, member_of, django_assert_max_num_queries):
    _make(admin, name="b")
    client = api(admin)
    with django_assert_max_num_queries(20) as few:
        assert client.get(URL).status_code == 200
    for name in ("C", "a", "d"):
        _make(member_of(Role.SALES), name=name)  # each with another owner
    with django_assert_max_num_queries(len(few.captured_queries)):
        resp = client.get(f"{URL}?limit=2")
    assert [t["name"] for t in resp.json()["items"]] == ["a", "b"] and resp.json()["next_cursor"]
    resp = client.get(f"{URL}?limit=2&cursor={resp.json()['next_cursor']}")
    assert [t["name"] for t in resp.json()["items"]] == ["C", "d"] and resp.json()["next_cursor"] is None


def test_the_field_catalogue_is_listed(api, admin):
    names = {f["name"] for f in api(admin).get(f"{URL}/fields").json()}
    assert {"contact.first_name", "company.name", "sender.email", "today"} <= names


def test_render_for_a_contact_of_another_workspace_or_in_the_trash_is_404(api, admin, other_org, org):
    template = _make(admin)
    stranger = contact_with(other_org, first_name="Zed")
    trashed = contact_with(org, first_name="Gone")
    trashed.deleted_at = trashed.created_at
    trashed.save()
    for contact in (stranger, trashed):
        api_error(api(admin).post(f"{URL}/{template.pk}/render", {"contact_id": contact.pk}), 404)
    api_error(api(admin).post(f"{URL}/{template.pk}/render", {"contact_id": 2**62}), 404)


def test_a_viewer_reads_and_renders_but_cannot_create_change_or_delete(api, admin, member_of, ada):
    template = _make(admin)
    before = _state(template.pk)
    client = api(member_of(Role.VIEWER))
    assert client.get(URL).status_code == 200
    assert client.post(f"{URL}/{template.pk}/render", {"contact_id": ada.pk}).json()["subject"] == "Hi Ada"
    api_error(client.post(URL, {"name": "Mine"}), 403)
    api_error(client.patch(f"{URL}/{template.pk}", {"name": "X"}, **{"If-Match": "*"}), 403)
    api_error(client.delete(f"{URL}/{template.pk}"), 403)
    assert EmailTemplate.objects.count() == 1 and _state(template.pk) == before


def test_a_colleague_cannot_change_someone_elses_template_and_an_admin_can(api, admin, member_of):
    template = _make(member_of(Role.SALES))
    before = _state(template.pk)
    colleague = api(member_of(Role.MANAGER))
    assert colleague.get(f"{URL}/{template.pk}").json()["can_edit"] is False
    api_error(colleague.patch(f"{URL}/{template.pk}", {"name": "X"}, **{"If-Match": "*"}), 403)
    api_error(colleague.delete(f"{URL}/{template.pk}"), 403)
    assert _state(template.pk) == before
    assert api(admin).patch(f"{URL}/{template.pk}", {"name": "Y"}, **{"If-Match": "*"}).status_code == 200


def test_a_read_only_token_cannot_write(api, admin):
    template = _make(admin)
    before = _state(template.pk)
    client = api(admin, scope="read")
    api_error(client.post(URL, {"name": "Mine"}), 403)
    api_error(client.patch(f"{URL}/{template.pk}", {"name": "X"}, **{"If-Match": "*"}), 403)
    api_error(client.delete(f"{URL}/{template.pk}"), 403)
    assert EmailTemplate.objects.count() == 1 and _state(template.pk) == before


# Every endpoint of this router that takes an id (rapport/core/tests/test_cross_workspace.py leaves
# them to this file), with what a hostile request would send.
ID_ENDPOINTS = [
    ("get", "/api/v1/email-templates/{template_id}", None),
    ("patch", "/api/v1/email-templates/{template_id}", {"name": "Taken over", "body": "{{ sender.email }}"}),
    ("delete", "/api/v1/email-templates/{template_id}", None),
    ("post", "/api/v1/email-templates/{template_id}/render", {}),
]


def test_every_email_template_endpoint_with_an_id_is_in_the_cross_workspace_list():
    from rapport.config.api import api as ninja_api

    paths = ninja_api.get_openapi_schema()["paths"]
    documented = {(m, p) for p, ops in paths.items() if p.startswith(URL) and "{" in p for m in ops}
    assert documented == {(m, p) for m, p, _ in ID_ENDPOINTS}


def test_another_workspace_sees_nothing_and_changes_nothing(api, admin, other_admin, member_of):
    template = _make(admin)
    before = _state(template.pk)
    for actor in (other_admin, member_of(Role.SALES, other_admin.org)):
        client = api(actor)
        assert client.get(URL).json()["items"] == []
        for method, path, body in ID_ENDPOINTS:
            url = path.format(template_id=template.pk)
            if method == "patch":  # the right version: only the workspace can be the reason for a refusal
                resp = client.patch(url, body, **{"If-Match": '"v1"'})
            elif method == "post":
                resp = client.post(url, body)
            else:
                resp = getattr(client, method)(url)
            assert api_error(resp, 404)["code"] == "not_found"
    assert _state(template.pk) == before
    assert Event.objects.filter(verb__startswith="email_template").count() == 1
