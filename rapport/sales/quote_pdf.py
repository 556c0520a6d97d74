"""The printable quote: one HTML document (sales/quotes/document.html, styled by
static/sales/quote-document.css) shown in the browser to print, and turned into a PDF by
WeasyPrint (which needs Debian's pango: scripts/system-deps.sh installs it).

The document shows the workspace's name, the customer (company with its address, contact with
their email), the lines, the totals, the validity and the notes. Text is escaped by the template;
WeasyPrint fetches nothing: the stylesheet is read from the app's static folder and passed in,
and the document links nothing else.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.template.loader import render_to_string

from rapport.accounts.models import Organization
from rapport.core.errors import ApplicationError
from rapport.core.principal import Principal
from rapport.sales.models import Quote, QuoteStatus
from rapport.sales.quote_services import line_tax

STYLESHEET = "sales/quote-document.css"
PDF_UNAVAILABLE = (
    "This server cannot make PDFs: it lacks the pango library (`make system-deps` installs it). "
    "Use the print view and your browser's “Save as PDF” meanwhile."
)


def _address(record: Any) -> list[str]:
    if record is None:
        return []
    town = " ".join(part for part in (record.postal_code, record.city) if part)
    return [part for part in (record.street, town, record.region, record.country) if part]


def document_context(actor: Principal, quote: Quote) -> dict[str, Any]:
    """What the document shows (the quote fetched with quote_services.quote_get: lines prefetched)."""
    org = Organization.objects.only("name").get(pk=actor.org_id)
    lines = list(quote.lines.all())
    for line in lines:
        line.tax = line_tax(line)  # type: ignore[attr-defined]
    company = quote.company if quote.company_id and quote.company and quote.company.deleted_at is None else None
    contact = quote.contact if quote.contact_id and quote.contact and quote.contact.deleted_at is None else None
    return {
        "org": org,
        "quote": quote,
        "lines": lines,
        "company": company,
        "company_address": _address(company),
        "contact": contact,
        "contact_address": [] if company else _address(contact),
        "draft": quote.status == QuoteStatus.DRAFT,
        "has_discount": any(line.discount_percent for line in lines),
        "has_tax": any(line.tax_percent for line in lines),
    }


@lru_cache(maxsize=1)
def _stylesheet() -> str:
    path = finders.find(STYLESHEET)
    return Path(str(path)).read_text(encoding="utf-8") if path else ""


def render_pdf(actor: Principal, quote: Quote) -> bytes:
    """The quote as PDF bytes."""
    try:
        from weasyprint import CSS, HTML  # a heavy import, only where a PDF is made
    except (OSError, ImportError) as exc:  # pango missing: a server set up without `make system-deps`
        raise ApplicationError("pdf_unavailable", PDF_UNAVAILABLE, status=503) from exc

    html = render_to_string("sales/quotes/document.html", {**document_context(actor, quote), "pdf": True})
    return HTML(string=html).write_pdf(stylesheets=[CSS(string=_stylesheet())])


def pdf_response(actor: Principal, quote: Quote, *, download: bool = True) -> HttpResponse:
    """An HTTP answer with the quote's PDF (as an attachment named quote-<number>.pdf)."""
    response = HttpResponse(render_pdf(actor, quote), content_type="application/pdf")
    disposition = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="quote-{quote.number}.pdf"'
    return response
