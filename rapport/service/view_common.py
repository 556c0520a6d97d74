"""What the service's own pages over a configuration record share (canned replies, support
mailboxes): the refusal pages, and one way to run a service write for a form and answer for it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from rapport.accounts.forms import ServiceErrorsMixin
from rapport.contacts.views.common import not_found
from rapport.core.errors import ApplicationError, NotFound, PermissionDenied, StaleVersion

T = TypeVar("T")


class ServiceForm(Protocol):
    def add_service_error(self, exc: ApplicationError) -> None: ...


class VersionedFormMixin(ServiceErrorsMixin):
    """The form of a record saved with the version it was opened at: a stale version is told with
    `stale` (which names the record); other refusals go on the fields as ServiceErrorsMixin puts them."""

    stale = "Someone else changed this since you opened it — reload to see it."

    def add_service_error(self, exc: ApplicationError) -> None:
        if isinstance(exc, StaleVersion):
            self.add_error(None, self.stale)  # type: ignore[attr-defined]
            return
        super().add_service_error(exc)


def denied(request: HttpRequest) -> HttpResponse:
    """A page or a write the member's role does not allow: 403."""
    return render(request, "web/denied.html", status=403)


def fetched(request: HttpRequest, call: Callable[[], T]) -> T | HttpResponse:
    """What `call` (a service's read or write of one record) returns, or the page to answer with
    when the record is not there (404) or not the member's to have or change (403)."""
    try:
        return call()
    except NotFound:
        return not_found(request)
    except PermissionDenied:
        return denied(request)


def form_write(
    request: HttpRequest,
    form: ServiceForm,
    write: Callable[[], T],
    *,
    page: Callable[[int], HttpResponse],
    done: Callable[[T], HttpResponse],
) -> HttpResponse:
    """Run `write` with a valid form's data and answer: `done(saved)`; the 404 / 403 page (see
    `fetched`); for any other refusal, the refusal on the form and `page(its status)`."""
    try:
        saved = fetched(request, write)
    except ApplicationError as exc:
        form.add_service_error(exc)
        return page(exc.status)
    return saved if isinstance(saved, HttpResponse) else done(saved)
