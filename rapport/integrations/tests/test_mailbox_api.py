"""/api/v1/mailboxes: connect, read, change, remove and sync mailboxes; who may do what."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.accounts.roles import Role
from rapport.activities.models import Activity
from rapport.core import crypto
from rapport.core.models import Event
from rapport.integrations.mail_sync import mailbox_sync
from rapport.integrations.models import Mailbox
from rapport.integrations.tests.mailbox_support import closed_port, connect_mailbox, make_contact, make_message


def body_for(account: Any, **extra: Any) -> dict[str, Any]:
    data = {
        "name": "Work",
        "host": account.host,
        "port": account.port,
        "security": "none",
        "username": account.username,
        "password": account.password,
    }
    data.update(extra)
    return data


def test_a_member_connects_their_mailbox_after_a_connection_check(api, member_of, imap_account):
    member = member_of(Role.SALES)

    resp = api(member).post("/api/v1/mailboxes", body_for(imap_account))

    assert resp.status_code == 201, resp.content
    data = resp.json()
    assert data["has_password"] is True and data["shared"] is False and data["user_id"] == member.user_id
    assert imap_account.password not in resp.content.decode()
    mailbox = Mailbox.objects.get(pk=data["id"])
    assert mailbox.password_secret != imap_account.password
    assert crypto.decrypt(mailbox.password_secret) == imap_account.password
    event = Event.objects.get(verb="mailbox.created")
    assert imap_account.password not in str(event.changes)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"password": "wrong-password"}, "password", "refused the login"),
        ({"folders": ["Nope"]}, "folders", "Nope"),
        ({"port": "closed"}, "host", "refused the connection"),
    ],
)
def test_a_failing_connection_check_saves_nothing(api, admin, imap_account, change, field, words):
    if change.get("port") == "closed":
        change = {"port": closed_port()}

    resp = api(admin).post("/api/v1/mailboxes", body_for(imap_account, **change))

    assert resp.status_code == 422
    error = resp.json()["error"]
    assert error["code"] == "connection_failed" and words in error["fields"][field]
    assert "wrong-password" not in resp.content.decode()
    assert not Mailbox.objects.exists() and not Event.objects.filter(verb__startswith="mailbox").exists()


@pytest.mark.parametrize(
    "change",
    [{"port": 0}, {"host": "imap example.com"}, {"security": "tls9"}, {"folders": ["a\nb"]}, {"username": ""}],
)
def test_bad_input_is_a_422_and_saves_nothing(api, admin, imap_account, change):
    resp = api(admin).post("/api/v1/mailboxes", body_for(imap_account, **change))

    assert resp.status_code == 422
    assert not Mailbox.objects.exists()


def test_a_viewer_cannot_connect_a_mailbox(api, member_of, imap_account):
    resp = api(member_of(Role.VIEWER)).post("/api/v1/mailboxes", body_for(imap_account))

    assert resp.status_code == 403
    assert not Mailbox.objects.exists()


def test_a_read_only_token_cannot_connect_a_mailbox(api, admin, imap_account):
    resp = api(admin, scope="read").post("/api/v1/mailboxes", body_for(imap_account))

    assert resp.status_code == 403
    assert not Mailbox.objects.exists()


def test_only_admins_connect_shared_mailboxes(api, admin, member_of, imap_account):
    refused = api(member_of(Role.MANAGER)).post("/api/v1/mailboxes", body_for(imap_account, shared=True))
    assert refused.status_code == 403
    assert not Mailbox.objects.exists()

    resp = api(admin).post("/api/v1/mailboxes", body_for(imap_account, shared=True, verify=False))

    assert resp.status_code == 201
    assert resp.json()["shared"] is True and Mailbox.objects.get().user_id is None


def test_a_member_lists_their_own_and_the_shared_mailboxes_only(api, org, admin, member_of, dovecot):
    member, colleague = member_of(Role.SALES), member_of(Role.SALES)
    own = connect_mailbox(member, dovecot.add_user())
    shared = connect_mailbox(None, dovecot.add_user(), org=org, name="Support")
    connect_mailbox(colleague, dovecot.add_user())
    connect_mailbox(admin, dovecot.add_user())
    client = api(member)

    with CaptureQueriesContext(connection) as queries:
        resp = client.get("/api/v1/mailboxes")

    assert resp.status_code == 200
    assert [item["id"] for item in resp.json()["items"]] == [own.pk, shared.pk]
    assert "password" not in resp.json()["items"][0]
    mailbox_queries = [q for q in queries.captured_queries if "integrations_mailbox" in q["sql"]]
    assert len(mailbox_queries) == 1


def test_a_colleagues_mailbox_is_not_found(api, member_of, dovecot):
    member, colleague = member_of(Role.SALES), member_of(Role.ADMIN)
    theirs = connect_mailbox(colleague, dovecot.add_user(), name="Private")
    client = api(member)

    for method, path in [
        ("get", ""),
        ("patch", ""),
        ("delete", ""),
        ("post", "/sync"),
    ]:
        resp = getattr(client, method)(f"/api/v1/mailboxes/{theirs.pk}{path}", **({"If-Match": '"v1"'}))
        assert resp.status_code == 404, (method, path)
    theirs.refresh_from_db()
    assert theirs.name == "Private" and theirs.version == 1 and theirs.next_attempt_at is None


def test_another_workspaces_mailbox_is_not_found_and_unchanged(api, admin, other_admin, dovecot):
    theirs = connect_mailbox(other_admin, dovecot.add_user(), name="Globex")
    shared = connect_mailbox(None, dovecot.add_user(), org=other_admin.org, name="Globex shared")
    client = api(admin)

    for mailbox in (theirs, shared):
        assert client.get(f"/api/v1/mailboxes/{mailbox.pk}").status_code == 404
        patched = client.patch(f"/api/v1/mailboxes/{mailbox.pk}", {"name": "Hacked"}, **{"If-Match": '"v1"'})
        assert patched.status_code == 404
        assert client.post(f"/api/v1/mailboxes/{mailbox.pk}/sync").status_code == 404
        assert client.delete(f"/api/v1/mailboxes/{mailbox.pk}").status_code == 404
    assert client.get("/api/v1/mailboxes").json()["items"] == []
    assert set(Mailbox.objects.values_list("name", "version", "next_attempt_at")) == {
        ("Globex", 1, None),
        ("Globex shared", 1, None),
    }
    assert not Event.objects.filter(org=admin.org, verb__startswith="mailbox").exists()


def test_members_read_shared_mailboxes_but_cannot_change_them(api, org, member_of, dovecot):
    shared = connect_mailbox(None, dovecot.add_user(), org=org, name="Support")
    client = api(member_of(Role.MANAGER))

    assert client.get(f"/api/v1/mailboxes/{shared.pk}").status_code == 200
    patched = client.patch(f"/api/v1/mailboxes/{shared.pk}", {"name": "Mine"}, **{"If-Match": '"v1"'})
    assert patched.status_code == 403
    assert client.post(f"/api/v1/mailboxes/{shared.pk}/sync").status_code == 403
    assert client.delete(f"/api/v1/mailboxes/{shared.pk}").status_code == 403
    shared.refresh_from_db()
    assert (shared.name, shared.version, shared.next_attempt_at) == ("Support", 1, None)


def test_a_change_needs_the_current_version(api, admin, imap_account):
    mailbox = connect_mailbox(admin, imap_account, name="Old")
    client = api(admin)

    assert client.patch(f"/api/v1/mailboxes/{mailbox.pk}", {"name": "New"}).status_code == 428
    stale = client.patch(f"/api/v1/mailboxes/{mailbox.pk}", {"name": "New"}, **{"If-Match": '"v7"'})
    assert stale.status_code == 412
    mailbox.refresh_from_db()
    assert mailbox.name == "Old"

    etag = client.get(f"/api/v1/mailboxes/{mailbox.pk}")["ETag"]
    resp = client.patch(
        f"/api/v1/mailboxes/{mailbox.pk}", {"name": "New", "create_unknown_contacts": True}, **{"If-Match": etag}
    )

    assert resp.status_code == 200
    assert resp.json()["name"] == "New" and resp.json()["create_unknown_contacts"] is True
    assert resp["ETag"] == '"v2"'


def test_a_new_password_is_checked_before_it_is_saved(api, admin, imap_account):
    mailbox = connect_mailbox(admin, imap_account)
    secret = mailbox.password_secret
    client = api(admin)

    resp = client.patch(f"/api/v1/mailboxes/{mailbox.pk}", {"password": "guess-123"}, **{"If-Match": '"v1"'})

    assert resp.status_code == 422 and "password" in resp.json()["error"]["fields"]
    assert "guess-123" not in resp.content.decode()
    mailbox.refresh_from_db()
    assert mailbox.password_secret == secret and mailbox.version == 1


def test_a_new_username_starts_the_sync_over(api, admin, dovecot):
    first, second = dovecot.add_user(), dovecot.add_user()
    mailbox = connect_mailbox(admin, first)
    mailbox.folder_states.create(name="INBOX", uidvalidity=5, last_uid=40)

    resp = api(admin).patch(
        f"/api/v1/mailboxes/{mailbox.pk}",
        {"username": second.username, "password": second.password},
        **{"If-Match": '"v1"'},
    )

    assert resp.status_code == 200, resp.content
    assert not mailbox.folder_states.exists()
    assert crypto.decrypt(Mailbox.objects.get(pk=mailbox.pk).password_secret) == second.password


def test_deleting_a_mailbox_keeps_the_mail_it_logged(api, org, admin, imap_account):
    make_contact(admin, "jane@client.example")
    imap_account.deliver(make_message())
    mailbox = connect_mailbox(admin, imap_account)
    mailbox_sync(mailbox_id=mailbox.pk)

    resp = api(admin).delete(f"/api/v1/mailboxes/{mailbox.pk}")

    assert resp.status_code == 204
    assert not Mailbox.objects.exists()
    assert Activity.objects.filter(org=org, kind="email").count() == 1
    assert Event.objects.filter(verb="mailbox.deleted").exists()


def test_sync_now_fetches_the_mail(api, org, member_of, imap_account, django_capture_on_commit_callbacks):
    member = member_of(Role.SALES)
    make_contact(member, "jane@client.example")
    imap_account.deliver(make_message())
    mailbox = connect_mailbox(member, imap_account, failures=4, last_error="old error")

    with django_capture_on_commit_callbacks(execute=True):
        resp = api(member).post(f"/api/v1/mailboxes/{mailbox.pk}/sync")

    assert resp.status_code == 202
    assert Activity.objects.filter(org=org, kind="email").count() == 1
    mailbox.refresh_from_db()
    assert (mailbox.failures, mailbox.last_error) == (0, "")


def test_a_turned_off_mailbox_is_not_synced_now(api, admin, imap_account):
    mailbox = connect_mailbox(admin, imap_account, enabled=False)

    resp = api(admin).post(f"/api/v1/mailboxes/{mailbox.pk}/sync")

    assert resp.status_code == 409
    mailbox.refresh_from_db()
    assert mailbox.next_attempt_at is None


def test_the_password_never_appears_in_any_answer(api, admin, imap_account, django_capture_on_commit_callbacks):
    client = api(admin)
    created = client.post("/api/v1/mailboxes", body_for(imap_account), **{"Idempotency-Key": "k1"})
    mailbox_id = created.json()["id"]
    answers = [
        created,
        client.post("/api/v1/mailboxes", body_for(imap_account), **{"Idempotency-Key": "k1"}),
        client.get("/api/v1/mailboxes"),
        client.get(f"/api/v1/mailboxes/{mailbox_id}"),
        client.patch(f"/api/v1/mailboxes/{mailbox_id}", {"password": imap_account.password}, **{"If-Match": "*"}),
        client.get("/api/openapi.json"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        answers.append(client.post(f"/api/v1/mailboxes/{mailbox_id}/sync"))

    for answer in answers:
        assert answer.status_code in (200, 201, 202), answer.content
        assert imap_account.password not in answer.content.decode()
    assert Mailbox.objects.count() == 1
