"""Account → Mailboxes pages: list with sync state, connect, edit, disconnect, sync now; who may."""

from __future__ import annotations

from django.test import Client

from rapport.accounts.roles import Role
from rapport.activities.models import Activity
from rapport.core.models import Event
from rapport.integrations.models import Mailbox
from rapport.integrations.tests.mailbox_support import connect_mailbox, make_contact, make_message


def form_for(account, **extra):
    data = {
        "name": "Work",
        "host": account.host,
        "port": account.port,
        "security": "none",
        "username": account.username,
        "password": account.password,
        "folders": "INBOX",
        "enabled": "on",
        "verify": "on",
    }
    data.update(extra)
    return data


def test_the_page_shows_own_and_shared_mailboxes_with_their_sync_state(web, org, member_of, dovecot):
    member, colleague = member_of(Role.SALES), member_of(Role.SALES)
    account = dovecot.add_user()
    connect_mailbox(member, account, name="My work mail", last_error="The server refused the login.", failures=3)
    connect_mailbox(None, dovecot.add_user(), org=org, name="Support desk")
    connect_mailbox(colleague, dovecot.add_user(), name="Colleague mail")

    resp = web(member).get("/account/mailboxes/")

    html = resp.content.decode()
    assert resp.status_code == 200
    assert "My work mail" in html and "The server refused the login." in html and "3 times" in html
    assert "Support desk" in html and "Managed by admins" in html
    assert "Colleague mail" not in html
    assert account.password not in html


def test_the_profile_page_links_to_the_mailboxes(web, admin):
    assert 'href="/account/mailboxes/"' in web(admin).get("/account/").content.decode()


def test_a_member_connects_a_mailbox_from_the_page(web, member_of, imap_account):
    member = member_of(Role.SALES)

    resp = web(member).post("/account/mailboxes/new/", form_for(imap_account))

    assert resp.status_code == 302, resp.content.decode()
    mailbox = Mailbox.objects.get()
    assert mailbox.user_id == member.user_id and mailbox.folders == ["INBOX"]


def test_a_refused_login_is_shown_on_the_form_and_nothing_is_saved(web, admin, imap_account):
    resp = web(admin).post("/account/mailboxes/new/", form_for(imap_account, password="nope-nope"))

    assert resp.status_code == 422
    html = resp.content.decode()
    assert "refused the login" in html and "nope-nope" not in html
    assert not Mailbox.objects.exists()


def test_a_viewer_cannot_connect_a_mailbox(web, member_of, imap_account):
    client = web(member_of(Role.VIEWER))

    assert client.get("/account/mailboxes/new/").status_code == 403
    assert client.post("/account/mailboxes/new/", form_for(imap_account)).status_code == 403
    assert not Mailbox.objects.exists()


def test_only_admins_connect_shared_mailboxes_from_the_page(web, admin, member_of, imap_account):
    member = web(member_of(Role.MANAGER))
    assert member.post("/account/mailboxes/new/?shared=1", form_for(imap_account)).status_code == 403
    assert not Mailbox.objects.exists()

    resp = web(admin).post("/account/mailboxes/new/?shared=1", form_for(imap_account))

    assert resp.status_code == 302
    assert Mailbox.objects.get().user_id is None


def test_a_member_edits_their_mailbox_and_the_password_stays(web, member_of, imap_account):
    member = member_of(Role.SALES)
    mailbox = connect_mailbox(member, imap_account, name="Old")
    secret = mailbox.password_secret
    client = web(member)

    page = client.get(f"/account/mailboxes/{mailbox.pk}/edit/")
    resp = client.post(f"/account/mailboxes/{mailbox.pk}/edit/", form_for(imap_account, name="New", password=""))

    assert page.status_code == 200 and imap_account.password not in page.content.decode()
    assert resp.status_code == 302
    mailbox.refresh_from_db()
    assert mailbox.name == "New" and mailbox.password_secret == secret


def test_other_peoples_and_other_workspaces_mailboxes_are_not_found(web, member_of, other_admin, dovecot):
    member = member_of(Role.ADMIN)
    colleagues = connect_mailbox(member_of(Role.SALES), dovecot.add_user(), name="Theirs")
    foreign = connect_mailbox(other_admin, dovecot.add_user(), name="Globex")
    client = web(member)

    for mailbox in (colleagues, foreign):
        assert client.get(f"/account/mailboxes/{mailbox.pk}/edit/").status_code == 404
        assert client.post(f"/account/mailboxes/{mailbox.pk}/edit/", form_for(dovecot.add_user())).status_code == 404
        assert client.post(f"/account/mailboxes/{mailbox.pk}/delete/").status_code == 404
        assert client.post(f"/account/mailboxes/{mailbox.pk}/sync/").status_code == 404
    assert set(Mailbox.objects.values_list("name", "version", "next_attempt_at")) == {
        ("Theirs", 1, None),
        ("Globex", 1, None),
    }
    assert not Event.objects.filter(verb__startswith="mailbox").exists()


def test_members_cannot_change_shared_mailboxes_from_the_page(web, org, member_of, dovecot):
    shared = connect_mailbox(None, dovecot.add_user(), org=org, name="Support")
    client = web(member_of(Role.SALES))

    assert client.get(f"/account/mailboxes/{shared.pk}/edit/").status_code == 403
    assert client.post(f"/account/mailboxes/{shared.pk}/delete/").status_code == 403
    assert client.post(f"/account/mailboxes/{shared.pk}/sync/").status_code == 403
    shared.refresh_from_db()
    assert (shared.name, shared.next_attempt_at) == ("Support", None)


def test_disconnecting_asks_first(web, admin, imap_account):
    mailbox = connect_mailbox(admin, imap_account)
    client = web(admin)

    assert client.get(f"/account/mailboxes/{mailbox.pk}/delete/").status_code == 200
    assert Mailbox.objects.exists()
    resp = client.post(f"/account/mailboxes/{mailbox.pk}/delete/")

    assert resp.status_code == 302
    assert not Mailbox.objects.exists()


def test_sync_now_logs_the_mail(web, org, admin, imap_account, django_capture_on_commit_callbacks):
    make_contact(admin, "jane@client.example")
    imap_account.deliver(make_message())
    mailbox = connect_mailbox(admin, imap_account)
    client = web(admin)

    assert client.get(f"/account/mailboxes/{mailbox.pk}/sync/").status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        resp = client.post(f"/account/mailboxes/{mailbox.pk}/sync/")

    assert resp.status_code == 302
    assert Activity.objects.filter(org=org, kind="email").count() == 1


def test_writes_need_the_csrf_token(admin, imap_account):
    mailbox = connect_mailbox(admin, imap_account, name="Kept")
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin.user, backend="django.contrib.auth.backends.ModelBackend")

    assert client.post(f"/account/mailboxes/{mailbox.pk}/delete/").status_code == 403
    assert client.post("/account/mailboxes/new/", form_for(imap_account)).status_code == 403
    assert Mailbox.objects.get().name == "Kept"
