"""TOTP codes for tests: devices with RFC 6238's test key, and codes computed like an authenticator app."""

from __future__ import annotations

import time
from typing import Any

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

KNOWN_KEY = "3132333435363738393031323334353637383930"  # RFC 6238's test key, hex


def enrol(user: Any, *, confirmed: bool = True, name: str = "phone") -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name=name, key=KNOWN_KEY, confirmed=confirmed)


def code(device: TOTPDevice, *, at: float | None = None) -> str:
    """The code the device's app shows at time `at` (now by default)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    return f"{totp.token():0{device.digits}d}"


def wrong_code(device: TOTPDevice) -> str:
    """A code that no time step around now accepts (the device tolerates one step either way)."""
    now = time.time()
    valid = {code(device, at=now + delta * device.step) for delta in range(-3, 4)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)
