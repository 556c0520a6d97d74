"""Support mailboxes (API and pages): admins mark a shared mailbox as a support mailbox; others read
or are refused; another workspace's mailboxes are 404 and nothing changes."""

from __future__ import annotations

import pytest

from rapport.accounts.roles import Role
from rapport.core.models import Event
from rapport.integrations.models import Mailbox, Security
from rapport.service.models import Queue, SupportMailbox


def _mailbox(org, user=None, username="support@acme.example") -> Mailbox:
    return Mailbox.objects.create(
        org=org, user=user, host="127.0.0.1", port=143, security=Security.NONE, username=username, name="Support"
    )


@pytest.fixture
def shared(org) -> Mailbox:
    return _mailbox(org)


def _rows():
    return list(SupportMailbox.objects.values_list("pk", "org_id", "mailbox_id", "address", "queue_id", "version"))


def test_an_admin_marks_a_shared_mailbox_with_its_username_as_address(api, admin, shared):
    queue = Queue.objects.create(org=admin.org, name="Tier 1")

    answer = api(admin).post("/api/v1/support-mailboxes", {"mailbox_id": shared.pk, "queue_id": queue.pk})

    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["address"] == "support@acme.example" and body["queue"] == {"id": queue.pk, "name": "Tier 1"}
    assert body["mailbox"]["id"] == shared.pk
    assert Event.objects.filter(verb="support_mailbox.created").count() == 1


def test_change_needs_the_etag_and_unmark_keeps_nothing(api, admin, shared):
    client = api(admin)
    created = client.post("/api/v1/support-mailboxes", {"mailbox_id": shared.pk}).json()
    url = f"/api/v1/support-mailboxes/{created['id']}"

    missing = client.patch(url, {"address": "help@acme.example"})
    etag = client.get(url)["ETag"]
    changed = client.patch(url, {"address": "Help@Acme.example"}, **{"If-Match": etag})
    stale = client.patch(url, {"address": "other@acme.example"}, **{"If-Match": etag})
    gone = client.delete(url)

    assert missing.status_code == 428
    assert changed.status_code == 200 and changed.json()["address"] == "help@acme.example"
    assert stale.status_code == 412
    assert gone.status_code == 204 and not SupportMailbox.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"mailbox_id": 999999}, "mailbox_id"),
        ({"mailbox_id": "SHARED", "address": "not an address"}, "address"),
        ({"mailbox_id": "SHARED", "queue_id": 999999}, "queue_id"),
        ({"mailbox_id": "PERSONAL"}, "mailbox_id"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(api, admin, shared, payload, field):
    personal = _mailbox(admin.org, user=admin.user, username="me@acme.example")
    payload = {k: {"SHARED": shared.pk, "PERSONAL": personal.pk}.get(v, v) for k, v in payload.items()}

    answer = api(admin).post("/api/v1/support-mailboxes", payload)

    assert answer.status_code == 422 and field in answer.json()["error"]["fields"]
    assert not SupportMailbox.objects.exists()


def test_a_mailbox_is_marked_once(api, admin, shared):
    client = api(admin)
    client.post("/api/v1/support-mailboxes", {"mailbox_id": shared.pk})

    again = client.post("/api/v1/support-mailboxes", {"mailbox_id": shared.pk})

    assert again.status_code == 422 and SupportMailbox.objects.count() == 1


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.MANAGER])
def test_members_who_do_not_manage_settings_read_but_cannot_change(api, admin, member_of, shared, role):
    support = SupportMailbox.objects.create(org=admin.org, mailbox=shared, address="support@acme.example")
    client = api(member_of(role))
    before = _rows()

    listed = client.get("/api/v1/support-mailboxes")
    created = client.post(
        "/api/v1/support-mailboxes", {"mailbox_id": _mailbox(admin.org, username="b@acme.example").pk}
    )
    changed = client.patch(
        f"/api/v1/support-mailboxes/{support.pk}", {"address": "x@acme.example"}, **{"If-Match": "*"}
    )
    deleted = client.delete(f"/api/v1/support-mailboxes/{support.pk}")

    assert listed.status_code == 200 and [r["id"] for r in listed.json()["items"]] == [support.pk]
    assert (created.status_code, changed.status_code, deleted.status_code) == (403, 403, 403)
    assert _rows() == before


def test_marketing_cannot_even_read_them(api, member_of, shared):
    assert api(member_of(Role.MARKETING)).get("/api/v1/support-mailboxes").status_code == 403


def test_every_support_mailbox_endpoint_answers_404_for_another_workspace(api, admin, other_org, other_admin):
    theirs = SupportMailbox.objects.create(
        org=other_org, mailbox=_mailbox(other_org, username="help@globex.example"), address="help@globex.example"
    )
    client = api(admin)
    url = f"/api/v1/support-mailboxes/{theirs.pk}"
    before = _rows()

    answers = [
        client.get(url),
        client.patch(url, {"address": "x@acme.example"}, **{"If-Match": "*"}),
        client.delete(url),
    ]
    listed = client.get("/api/v1/support-mailboxes").json()["items"]
    marked = client.post("/api/v1/support-mailboxes", {"mailbox_id": theirs.mailbox_id})

    assert [a.status_code for a in answers] == [404, 404, 404]
    assert listed == [] and marked.status_code == 422
    assert _rows() == before


def test_the_pages_list_create_change_and_remove(web, admin, shared):
    client = web(admin)

    empty = client.get("/service/mailboxes/")
    created = client.post("/service/mailboxes/new/", {"mailbox_id": shared.pk, "address": "", "queue_id": ""})
    support = SupportMailbox.objects.get()
    listed = client.get("/service/mailboxes/")
    edited = client.post(
        f"/service/mailboxes/{support.pk}/edit/",
        {"mailbox_id": shared.pk, "address": "help@acme.example", "queue_id": "", "version": support.version},
    )
    confirm = client.get(f"/service/mailboxes/{support.pk}/delete/")
    removed = client.post(f"/service/mailboxes/{support.pk}/delete/")

    assert empty.status_code == 200 and b"Add a support mailbox" in empty.content
    assert created.status_code == 302 and support.address == "support@acme.example"
    assert listed.status_code == 200 and b"support@acme.example" in listed.content
    assert edited.status_code == 302
    assert confirm.status_code == 200 and removed.status_code == 302 and not SupportMailbox.objects.exists()


def test_pages_refuse_members_and_hide_other_workspaces(web, admin, member_of, shared, other_org):
    mine = SupportMailbox.objects.create(org=admin.org, mailbox=shared, address="support@acme.example")
    theirs = SupportMailbox.objects.create(
        org=other_org, mailbox=_mailbox(other_org, username="h@globex.example"), address="h@globex.example"
    )
    agent = web(member_of(Role.SUPPORT))
    before = _rows()

    assert agent.get("/service/mailboxes/").status_code == 200
    assert agent.get("/service/mailboxes/new/").status_code == 403
    assert agent.post(f"/service/mailboxes/{mine.pk}/delete/").status_code == 403
    admin_client = web(admin)
    assert admin_client.get(f"/service/mailboxes/{theirs.pk}/edit/").status_code == 404
    assert admin_client.post(f"/service/mailboxes/{theirs.pk}/delete/").status_code == 404
    assert _rows() == before


def test_a_bad_page_submission_shows_errors(web, admin, shared):
    answer = web(admin).post("/service/mailboxes/new/", {"mailbox_id": "abc", "address": "nope"})

    assert answer.status_code == 400 and not SupportMailbox.objects.exists()


def test_the_list_is_one_query_whatever_its_length(api, admin, django_assert_max_num_queries):
    for n in range(5):
        SupportMailbox.objects.create(
            org=admin.org, mailbox=_mailbox(admin.org, username=f"s{n}@acme.example"), address=f"s{n}@acme.example"
        )
    client = api(admin)

    with django_assert_max_num_queries(8):  # token auth and principal + one list query
        answer = client.get("/api/v1/support-mailboxes")

    assert len(answer.json()["items"]) == 5
