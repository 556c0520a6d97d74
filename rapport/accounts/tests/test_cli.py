"""The `rapport` commands: demo, createuser, and `check --deploy` under production settings."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from rapport.accounts.demo import DEFAULT_PASSWORD
from rapport.accounts.models import Membership, Organization, Team, User
from rapport.accounts.roles import Role
from rapport.core.models import Event
from rapport.testing.factories import PASSWORD

DEMO_ROLES = {
    "admin@example.com": Role.ADMIN,
    "sales@example.com": Role.SALES,
    "support@example.com": Role.SUPPORT,
    "marketing@example.com": Role.MARKETING,
    "manager@example.com": Role.MANAGER,
    "viewer@example.com": Role.VIEWER,
}


def _can_log_in(email: str, password: str) -> bool:
    """Authenticate as the login page does (through django-axes, which needs a request)."""
    request = RequestFactory().post("/login/")
    return isinstance(authenticate(request, email=email, password=password), User)


def _demo_memberships() -> dict[str, str]:
    org = Organization.objects.get(name="Acme Demo")
    return {m.user.email: m.role for m in Membership.objects.filter(org=org, is_active=True).select_related("user")}


# --- demo ----------------------------------------------------------------------------------------


def test_demo_creates_acme_demo_with_one_user_per_role(db, capsys):
    call_command("demo")

    assert _demo_memberships() == DEMO_ROLES
    for email in DEMO_ROLES:
        assert _can_log_in(email, DEFAULT_PASSWORD), email
    out = capsys.readouterr().out
    assert all(email in out for email in DEMO_ROLES)
    assert DEFAULT_PASSWORD in out


def test_demo_logins_work_on_the_login_page(db, client):
    call_command("demo")
    resp = client.post("/login/", {"email": "viewer@example.com", "password": DEFAULT_PASSWORD})
    assert resp.status_code == 302 and resp.url == "/"
    home = client.get("/")
    assert "Acme Demo" in home.content.decode() and "<strong>Viewer</strong>" in home.content.decode()


def test_demo_twice_in_a_row_creates_no_duplicates(db):
    call_command("demo")
    counts = (
        Organization.objects.filter(name="Acme Demo").count(),
        User.objects.count(),
        Membership.objects.count(),
        Team.objects.count(),
    )

    call_command("demo")

    assert Organization.objects.filter(name="Acme Demo").count() == 1
    assert (
        Organization.objects.filter(name="Acme Demo").count(),
        User.objects.count(),
        Membership.objects.count(),
        Team.objects.count(),
    ) == counts
    assert _demo_memberships() == DEMO_ROLES


def test_demo_repairs_a_changed_role_and_a_deactivated_member(db):
    call_command("demo")
    org = Organization.objects.get(name="Acme Demo")
    Membership.objects.filter(org=org, user__email="sales@example.com").update(role=Role.VIEWER)
    Membership.objects.filter(org=org, user__email="support@example.com").update(is_active=False)

    call_command("demo")

    assert _demo_memberships() == DEMO_ROLES


def test_demo_password_option_sets_every_demo_password(db):
    call_command("demo")
    call_command("demo", password="another-demo-passphrase")
    for email in DEMO_ROLES:
        assert _can_log_in(email, "another-demo-passphrase"), email
        assert not _can_log_in(email, DEFAULT_PASSWORD), email


def test_demo_records_events_for_what_it_creates(db):
    call_command("demo")
    org = Organization.objects.get(name="Acme Demo")
    assert Event.objects.filter(org_id=org.pk, verb="workspace.created").count() == 1
    assert Event.objects.filter(org_id=org.pk, verb="member.added").count() == len(DEMO_ROLES)


# --- createuser ----------------------------------------------------------------------------------


def test_createuser_makes_the_user_admin_of_a_new_workspace(db, capsys):
    call_command("createuser", "Founder@Example.org", workspace="Initech", password=PASSWORD, name="Fran Founder")

    user = User.objects.get(email="founder@example.org")
    assert user.name == "Fran Founder"
    assert _can_log_in("founder@example.org", PASSWORD)
    org = Organization.objects.get(name="Initech")
    membership = Membership.objects.get(org=org, user=user)
    assert membership.role == Role.ADMIN and membership.is_active
    assert "founder@example.org" in capsys.readouterr().out


def test_createuser_adds_to_an_existing_workspace_with_the_given_role(db):
    call_command("createuser", "boss@example.org", workspace="Initech", password=PASSWORD)
    call_command("createuser", "rep@example.org", workspace="initech", password=PASSWORD, role="sales")
    org = Organization.objects.get(name="Initech")
    assert Membership.objects.get(org=org, user__email="rep@example.org").role == Role.SALES
    assert Organization.objects.count() == 1


def test_createuser_refuses_a_duplicate_email(db):
    existing = User.objects.create_user(email="taken@example.org", password=PASSWORD)
    with pytest.raises(CommandError, match="already exists"):
        call_command("createuser", "TAKEN@example.org", workspace="Initech", password=PASSWORD)
    assert User.objects.filter(email="taken@example.org").count() == 1
    assert not Organization.objects.filter(name="Initech").exists()
    existing.refresh_from_db()
    assert existing.check_password(PASSWORD)


@pytest.mark.parametrize(
    ("password", "problem"),
    [("short", "too short"), ("password123", "too common"), ("12345678901234", "entirely numeric")],
)
def test_createuser_refuses_a_weak_password_naming_the_problem(db, password, problem):
    with pytest.raises(CommandError, match=problem):
        call_command("createuser", "weak@example.org", workspace="Initech", password=password)
    assert not User.objects.filter(email="weak@example.org").exists()
    assert not Organization.objects.filter(name="Initech").exists()


def test_createuser_refuses_an_invalid_email(db):
    with pytest.raises(CommandError, match="valid email"):
        call_command("createuser", "not-an-email", workspace="Initech", password=PASSWORD)
    assert not User.objects.exists()


def test_createuser_refuses_a_non_admin_first_user_of_a_new_workspace(db):
    with pytest.raises(CommandError, match="admin"):
        call_command("createuser", "rep@example.org", workspace="Nowhere", password=PASSWORD, role="sales")
    assert not User.objects.filter(email="rep@example.org").exists()
    assert not Organization.objects.exists()


# --- check --deploy ------------------------------------------------------------------------------


def _rapport(args: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the `rapport` command in a fresh process with only the given Rapport settings."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RAPPORT_", "DJANGO_")) and k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"}
    }
    clean.update(RAPPORT_DATA_DIR=str(data_dir), **env)
    return subprocess.run(
        [sys.executable, "-m", "rapport", *args],
        env=clean,
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _production_env() -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(64),
        "RAPPORT_DEBUG": "0",
        "RAPPORT_BASE_URL": "https://crm.example.com",
        "ALLOWED_HOSTS": "crm.example.com",
    }


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    result = _rapport(
        ["check", "--deploy", "--fail-level", "WARNING"], tmp_path, RAPPORT_SECURE="1", **_production_env()
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in output.upper()


def test_check_deploy_is_clean_with_an_https_base_url_alone(tmp_path):
    """Secure by default: an https base URL turns on the secure settings without RAPPORT_SECURE."""
    result = _rapport(["check", "--deploy", "--fail-level", "WARNING"], tmp_path, **_production_env())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output.upper()


def test_check_deploy_does_report_insecure_settings(tmp_path):
    """The harness above can fail: plain http with a short key is reported."""
    result = _rapport(
        ["check", "--deploy", "--fail-level", "WARNING"],
        tmp_path,
        SECRET_KEY="too-short",
        RAPPORT_BASE_URL="http://crm.example.com",
        RAPPORT_SECURE="0",
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "security.W009" in output  # weak SECRET_KEY
    assert "security.W012" in output  # session cookie not secure
