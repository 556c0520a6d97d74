"""Encryption of secrets kept in the database (mail server passwords): Fernet from `cryptography`.

Keys come from settings.ENCRYPTION_KEYS (the environment, see settings): the first encrypts, all
decrypt, so keys rotate without re-encrypting at once. A value that no key opens raises
`SecretUnreadable`: it never decrypts to garbage and never appears in a message or a log.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadable(Exception):
    """The stored secret was encrypted with a key that is no longer configured."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    """The token for `plaintext` (URL-safe text, safe to store in a CharField/TextField)."""
    return _current().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """The plaintext of a token made by `encrypt`; raises SecretUnreadable if no key opens it."""
    try:
        return _current().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError) as exc:
        raise SecretUnreadable("The stored secret cannot be decrypted with the configured keys.") from exc
