"""Reusable HTTP pieces of the API: ETag / If-Match for updates, Idempotency-Key for creates."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db import IntegrityError, models, transaction
from django.http import HttpRequest, HttpResponse
from ninja import Schema
from ninja.responses import NinjaJSONEncoder

from rapport.core.errors import Conflict, PreconditionRequired, StaleVersion, ValidationFailed
from rapport.core.models import IdempotencyRecord

_ETAG = re.compile(r'^(?:W/)?"v(\d{1,10})"$')
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def etag(obj: models.Model) -> str:
    """The strong ETag of a versioned record."""
    return f'"v{obj.version}"'  # type: ignore[attr-defined]


def with_etag(response: HttpResponse, obj: models.Model) -> None:
    response["ETag"] = etag(obj)


def if_match(request: HttpRequest) -> int | None:
    """The version the client read, from If-Match. Missing: 428; not one of our ETags: 412.

    `If-Match: *` means "whatever the current version is" and returns None (no check).
    """
    header = request.headers.get("If-Match")
    if header is None or not header.strip():
        raise PreconditionRequired()
    header = header.strip()
    if header == "*":
        return None
    match = _ETAG.match(header)
    if not match:
        raise StaleVersion("stale_version", "If-Match does not name a version of this record; reload it.")
    return int(match.group(1))


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() if request.method else b"")
    digest.update(b"\0" + request.get_full_path().encode() + b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def _created(data: dict[str, Any], status: int) -> HttpResponse:
    """The JSON answer of a create, with the new record's ETag when it is versioned."""
    response = HttpResponse(json.dumps(data, cls=NinjaJSONEncoder), status=status, content_type="application/json")
    if isinstance(data.get("version"), int):
        response["ETag"] = f'"v{data["version"]}"'
    return response


def idempotent(
    out: type[Schema], status: int = 201, *, secret_fields: tuple[str, ...] = ()
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Make a POST endpoint replay its first answer when a client repeats an Idempotency-Key.

    The record of the answer is written in the same transaction as the create, so a key is
    remembered exactly when its write committed. The same key with a different request is refused
    (422); the same key while the first request is still running answers 409. `secret_fields` are
    answered once and never stored: a replay shows them as null.
    """

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            key = request.headers.get("Idempotency-Key")
            if key is None:
                result = view(request, *args, **kwargs)
                return _created(out.model_validate(result, from_attributes=True).model_dump(), status)
            if not _KEY.match(key):
                raise ValidationFailed(
                    "invalid_idempotency_key",
                    "Idempotency-Key must be 1 to 255 visible ASCII characters.",
                    field="Idempotency-Key",
                )
            actor = request.auth  # type: ignore[attr-defined]
            fingerprint = _fingerprint(request)
            previous = IdempotencyRecord.objects.filter(org_id=actor.org_id, user_id=actor.user_id, key=key).first()
            if previous is not None:
                if previous.request_fingerprint != fingerprint:
                    raise ValidationFailed(
                        "idempotency_key_reused",
                        "This Idempotency-Key was used for a different request.",
                        field="Idempotency-Key",
                    )
                replay = _created(json.loads(bytes(previous.response_body)), previous.status_code)
                replay["Idempotent-Replayed"] = "true"
                return replay
            try:
                with transaction.atomic():
                    result = view(request, *args, **kwargs)
                    data = out.model_validate(result, from_attributes=True).model_dump()
                    stored = {**data, **dict.fromkeys(secret_fields)}
                    IdempotencyRecord.objects.create(
                        org_id=actor.org_id,
                        user_id=actor.user_id,
                        key=key,
                        request_fingerprint=fingerprint,
                        status_code=status,
                        response_body=json.dumps(stored, cls=NinjaJSONEncoder).encode(),
                    )
            except IntegrityError:
                if not IdempotencyRecord.objects.filter(org_id=actor.org_id, user_id=actor.user_id, key=key).exists():
                    raise
                raise Conflict(
                    "idempotency_key_in_use", "A request with this Idempotency-Key is already being processed."
                ) from None
            return _created(data, status)

        return wrapper

    return decorate
