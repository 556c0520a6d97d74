"""The "Convert to deal" page of a lead (/deals/convert/<contact_id>/): pipeline, deal name,
amount, currency and company (an existing company's name, or a new name to create it). POST runs
rapport.sales.lead_services.lead_convert (all or nothing) and opens the new deal.

Contacts the user cannot read answer 404; a user who may not change the contact or add deals gets
403; a contact that is not (or no longer) a lead gets a notice instead of the form.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from rapport.accounts.decorators import principal_required
from rapport.accounts.forms import ServiceErrorsMixin
from rapport.accounts.roles import Entity, Mode
from rapport.contacts.forms import CompanyNameInput
from rapport.contacts.models import Contact
from rapport.contacts.selectors import contact_get
from rapport.contacts.views.common import actor_of, company_by_name, forbidden, not_found
from rapport.core.access import can_write
from rapport.core.errors import ApplicationError, NotFound, StaleVersion
from rapport.core.principal import Principal
from rapport.sales import lead_services
from rapport.sales.board_views import pipelines_of
from rapport.sales.catalog_forms import currency_choices
from rapport.sales.deal_services import NAME_MAX


class ConvertForm(ServiceErrorsMixin, forms.Form):
    pipeline = forms.TypedChoiceField(label="Pipeline", coerce=int)
    deal_name = forms.CharField(label="Deal name", max_length=NAME_MAX, required=False)
    amount = forms.DecimalField(label="Amount", min_value=0, max_digits=18, decimal_places=2, initial=0)
    currency = forms.ChoiceField(label="Currency")
    company = forms.CharField(
        label="Company",
        max_length=200,
        required=False,
        widget=CompanyNameInput,
        help_text="An existing company, or a new name to create it. Empty: the contact's company.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    FIELD_MAP = {"pipeline_id": "pipeline", "stage_id": "pipeline", "name": "deal_name", "company_id": "company"}

    def __init__(self, *args: Any, pipelines: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pipeline"].choices = pipelines  # type: ignore[attr-defined]
        self.fields["currency"].choices = currency_choices()  # type: ignore[attr-defined]

    def error_field(self, service_field: str) -> str | None:
        return self.FIELD_MAP.get(service_field, service_field)


def _page(request: HttpRequest, contact: Contact, form: ConvertForm | None, status: int = 200) -> HttpResponse:
    context = {"contact": contact, "form": form, "is_lead": lead_services.is_lead(contact)}
    return render(request, "sales/leads/convert.html", context, status=status)


def _initial(actor: Principal, contact: Contact, pipelines: list[tuple[int, str]]) -> dict[str, Any]:
    company = contact.live_company
    return {
        "pipeline": pipelines[0][0] if pipelines else None,
        "deal_name": lead_services.default_deal_name(contact, company),
        "amount": 0,
        "currency": actor.org.base_currency,
        "company": company.name if company is not None else "",
        "version": contact.version,
    }


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@principal_required
def convert_page(request: HttpRequest, contact_id: int) -> HttpResponse:
    """GET: the form, filled with defaults; POST: convert and open the deal."""
    actor = actor_of(request)
    try:
        contact = contact_get(actor=actor, contact_id=contact_id)
    except NotFound:
        return not_found(request)
    if not can_write(actor, contact, Entity.CONTACT) or not actor.can(Entity.DEAL, Mode.WRITE):
        return forbidden(request, "convert this contact into a deal")
    if not lead_services.is_lead(contact):
        return _page(request, contact, None, 409 if request.method == "POST" else 200)
    pipelines = [(p.pk, p.name) for p in pipelines_of(actor)]
    if request.method != "POST":
        return _page(request, contact, ConvertForm(initial=_initial(actor, contact, pipelines), pipelines=pipelines))
    form = ConvertForm(request.POST, pipelines=pipelines)
    if not form.is_valid():
        return _page(request, contact, form, 400)
    data = form.cleaned_data
    name = data["company"].strip()
    company_id, problem = company_by_name(actor, name) if name else (None, "")
    company_name = None
    if company_id == 0 and problem.startswith("No company"):
        company_id, company_name, problem = None, name, ""  # a new company
    if problem:
        form.add_error("company", problem)
        return _page(request, contact, form, 400)
    try:
        contact, deal, _company = lead_services.lead_convert(
            actor=actor,
            contact=contact,
            expected_version=data["version"],
            pipeline_id=data["pipeline"],
            deal_name=data["deal_name"] or None,
            amount=data["amount"],
            currency=data["currency"],
            company_id=company_id,
            company_name=company_name,
        )
    except StaleVersion:
        form.add_error(None, "Someone changed this contact since you opened the form; reload it and try again.")
        return _page(request, contact, form, 412)
    except ApplicationError as exc:
        form.add_service_error(exc)
        return _page(request, contact, form, exc.status if exc.status < 500 else 400)
    messages.success(request, f"{contact} converted: deal “{deal.name}” added.")
    return redirect("sales:detail", deal.pk)
