"""TOTP two-factor authentication (django-otp): enrolment, verification, removal.

A device is "confirmed" once the user has typed one valid code from it; only confirmed devices
are asked for at login. django-otp's TOTPDevice remembers the last time step it accepted, so a
code that was used once is refused when replayed.
"""

from __future__ import annotations

import segno
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from rapport.accounts.models import User
from rapport.core.errors import ValidationFailed
from rapport.core.events import record_event
from rapport.core.principal import Principal

DEVICE_NAME = "Authenticator app"


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def has_2fa(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def verify(user: User, code: str | None) -> TOTPDevice | None:
    """The confirmed device that accepts `code` now, or None. A code is accepted at most once."""
    code = (code or "").strip().replace(" ", "")
    if not code.isdigit():
        return None
    for device in TOTPDevice.objects.filter(user=user, confirmed=True):
        if device.verify_token(code):
            return device
    return None


@transaction.atomic
def totp_begin(*, user: User) -> TOTPDevice:
    """Start enrolment: a fresh unconfirmed device (any earlier unconfirmed one is discarded)."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def pending_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()


def qr_data_uri(device: TOTPDevice) -> str:
    """The otpauth:// URL of a device as an SVG QR code in a data: URI (no user text in markup)."""
    return segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2)


@transaction.atomic
def totp_confirm(*, actor: Principal, device: TOTPDevice, code: str) -> TOTPDevice:
    """Finish enrolment with one valid code from the app; replaces any earlier confirmed device."""
    if device.user_id != actor.user_id or device.confirmed:
        raise ValidationFailed("no_enrolment", "Start the set-up again.", field="code")
    code = (code or "").strip().replace(" ", "")
    if not code.isdigit() or not device.verify_token(code):
        raise ValidationFailed(
            "invalid_code", "That code is not valid; check the app's clock and try again.", field="code"
        )
    TOTPDevice.objects.filter(user_id=actor.user_id, confirmed=True).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    record_event(actor, "user.2fa_enabled", actor.user, {"2fa": [False, True]}, subject_type="user")
    return device


@transaction.atomic
def totp_disable(*, actor: Principal, password: str) -> None:
    """Remove two-factor authentication after re-checking the password; refused when the workspace requires it."""
    if actor.org.require_2fa:
        raise ValidationFailed("2fa_required", "This workspace requires two-factor authentication.", field="password")
    if not actor.user.check_password(password or ""):
        raise ValidationFailed("wrong_password", "The password is not correct.", field="password")
    deleted, _ = TOTPDevice.objects.filter(user_id=actor.user_id).delete()
    if deleted:
        record_event(actor, "user.2fa_disabled", actor.user, {"2fa": [True, False]}, subject_type="user")
