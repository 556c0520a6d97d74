"""Public pages of the service desk, reached without logging in: the "contact support" form of a
workspace (/support/<org slug>/), its confirmation, and the satisfaction rating page of a survey
link (/support/rate/<token>/). They read nothing but what their URL names, never show a
member's data, answer bad input with a form error or a clear page (never a 500), and are marked
noindex. CSRF protection works without a session: the forms carry Django's token (cookie-based).
"""

from __future__ import annotations

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from rapport.accounts.models import Organization
from rapport.core.errors import ApplicationError
from rapport.service import csat, webform

SENT_SALT = "rapport.service.webform.sent"
SENT_MAX_AGE = 60 * 60  # the confirmation page of a request stays readable for an hour


def _public(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"  # the rating token never leaves in a Referer
    return response


def _org(slug: str) -> Organization | None:
    return Organization.objects.filter(slug=slug).first()


def _not_found(request: HttpRequest, title: str, message: str) -> HttpResponse:
    context = {"title": title, "message": message}
    return _public(render(request, "service/public/problem.html", context, status=404))


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def support_form_page(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The contact form; a valid submission creates the ticket and shows its number."""
    org = _org(org_slug)
    if org is None:
        return _not_found(request, "Page not found", "There is no support form at this address.")
    form = webform.SupportForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_bot():
            # Answered as a success so a bot learns nothing; nothing is created.
            return redirect("support:sent", org_slug=org.slug, token=signing.dumps(0, salt=SENT_SALT))
        if form.is_valid():
            try:
                ticket = webform.support_request_create(
                    org=org, data=form.cleaned_data, ip=request.META.get("REMOTE_ADDR", "")
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                token = signing.dumps(ticket.number, salt=SENT_SALT)
                return redirect("support:sent", org_slug=org.slug, token=token)
        else:
            status = 400
    return _public(render(request, "service/public/form.html", {"org": org, "form": form}, status=status))


@never_cache
@require_http_methods(["GET", "HEAD"])
def support_sent_page(request: HttpRequest, org_slug: str, token: str) -> HttpResponse:
    """The confirmation after a submission: the ticket number (signed, so nobody reads others')."""
    org = _org(org_slug)
    try:
        number = signing.loads(token, salt=SENT_SALT, max_age=SENT_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        number = None
    if org is None or not isinstance(number, int):
        return _not_found(request, "Page not found", "This confirmation is not valid any more.")
    return _public(render(request, "service/public/sent.html", {"org": org, "number": number or None}))


def _rating(raw: str | None) -> int | None:
    try:
        value = int(raw or "")
    except ValueError:
        return None
    return value if value in csat.LABELS else None


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def rate_page(request: HttpRequest, token: str) -> HttpResponse:
    """A survey link: records the rating it carries (once per ticket), then offers the comment form.
    A forged or expired token is a 404 page; an answered survey says so and changes nothing."""
    survey = csat.survey_for_token(token)
    if survey is None:
        return _not_found(
            request, "Link not valid", "This rating link is not valid or has expired. Thank you all the same."
        )
    context: dict[str, object] = {"survey": survey, "org": survey.ticket.org, "labels": csat.LABELS}
    if request.method == "POST":
        comment = request.POST.get("comment", "")
        context["commented"] = csat.csat_comment(survey=survey, comment=comment[: csat.COMMENT_MAX])
        survey.refresh_from_db()
        context["already"] = not context["commented"] and bool(survey.comment)
        context["rating_label"] = csat.LABELS.get(survey.rating or 0, "")
        return _public(render(request, "service/public/rate.html", context))
    rating = _rating(request.GET.get("rating"))
    # Link checkers and browsers' prefetches must not answer for the customer.
    prefetch = request.method == "HEAD" or "prefetch" in request.headers.get("Sec-Purpose", "").lower()
    if rating is not None and not prefetch:
        answer = csat.csat_rate(survey=survey, rating=rating)
        survey = answer.survey
        context.update(survey=survey, recorded=answer.recorded, already=not answer.recorded)
    elif survey.rating is not None:
        context["already"] = True
    context["rating_label"] = csat.LABELS.get(survey.rating or 0, "")
    return _public(render(request, "service/public/rate.html", context))
