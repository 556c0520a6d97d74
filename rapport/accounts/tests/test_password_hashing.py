import importlib

from django.contrib.auth.hashers import check_password, make_password


def test_production_settings_hash_passwords_with_argon2_first():
    production = importlib.import_module("rapport.config.settings")
    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_argon2_hashes_verify_and_are_salted(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    first, second = make_password("a long passphrase"), make_password("a long passphrase")
    assert first.startswith("argon2$") and first != second
    assert check_password("a long passphrase", first) and not check_password("another", first)
