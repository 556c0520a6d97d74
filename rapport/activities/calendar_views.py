"""Calendar pages: the private iCalendar feed (public URL with a secret), the page where a member
creates or revokes their feed, and the upload of an .ics file. All of them call `calendar`."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from rapport.accounts.decorators import principal_required
from rapport.accounts.roles import Entity, Mode
from rapport.activities import calendar
from rapport.contacts.views.common import actor_of, forbidden
from rapport.core.errors import ApplicationError


@require_safe
@never_cache
def calendar_feed_view(request: HttpRequest, secret: str) -> HttpResponse:
    """The feed of a secret as `text/calendar`; 404 for an unknown or revoked secret."""
    feed = calendar.calendar_feed_lookup(secret=secret)
    if feed is None:
        raise Http404("No such calendar.")
    response = HttpResponse(calendar.calendar_feed_ics(feed=feed), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="rapport.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def calendar_settings_page(request: HttpRequest) -> HttpResponse:
    """Create (the URL is shown this once) or revoke the member's feed of this workspace."""
    actor = actor_of(request)
    url = ""
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            calendar.calendar_feed_revoke(actor=actor)
            messages.success(request, "Your calendar feed is revoked: its URL no longer works.")
        else:
            _feed, secret = calendar.calendar_feed_create(actor=actor)
            url = request.build_absolute_uri(reverse("activities:calendar_feed", args=[secret]))
    context = {"feed": calendar.calendar_feed_active(actor=actor), "url": url}
    return render(request, "activities/calendar_settings.html", context)


class CalendarImportForm(forms.Form):
    file = forms.FileField(label="iCalendar file (.ics)", help_text="At most 1 MB.")


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def calendar_import_page(request: HttpRequest) -> HttpResponse:
    """Upload an .ics file: its events become meetings; errors are shown and nothing is written."""
    actor = actor_of(request)
    if not actor.can(Entity.ACTIVITY, Mode.WRITE):
        return forbidden(request, "import meetings")
    form = CalendarImportForm(request.POST or None, request.FILES or None)
    result = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                if upload.size > calendar.IMPORT_MAX_BYTES:
                    raise ApplicationError(fields={"file": "The file is larger than 1024 KB."})
                result = calendar.calendar_import(actor=actor, content=upload.read(calendar.IMPORT_MAX_BYTES + 1))
            except ApplicationError as exc:
                for name, message in (exc.fields or {"file": exc.message}).items():
                    form.add_error("file" if name == "file" else None, message)
        if result is None:
            status = 422
        else:
            form = CalendarImportForm()
    return render(request, "activities/calendar_import.html", {"form": form, "result": result}, status=status)
