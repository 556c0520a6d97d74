"""Lead conversion: a lead becomes an opportunity with a deal, all or nothing — through the
service, POST /api/v1/contacts/{id}/convert and the "Convert to deal" page."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.accounts.roles import Role
from rapport.contacts.models import Company, Contact
from rapport.contacts.tests.factories import api_error, contact_with
from rapport.core.errors import Conflict, PermissionDenied, StaleVersion, ValidationFailed
from rapport.core.models import Event
from rapport.sales.lead_services import lead_convert
from rapport.sales.models import Deal, DealStage


@pytest.fixture
def lead(org: Any) -> Contact:
    return contact_with(org, email="grace@example.org", first_name="Grace", last_name="Hopper", lifecycle_stage="lead")


def _state(org: Any, contact: Contact) -> dict[str, Any]:
    row = Contact.objects.get(pk=contact.pk)
    return {
        "contact": (row.lifecycle_stage, row.company_id, row.version),
        "companies": sorted(Company.objects.filter(org=org).values_list("pk", flat=True)),
        "deals": Deal.objects.filter(org=org).count(),
        "events": Event.objects.count(),
    }


def _verbs(contact: Contact) -> list[str]:
    events = Event.objects.filter(subject_type="contact", subject_id=contact.pk).order_by("pk")
    return list(events.values_list("verb", flat=True))


# --- service -----------------------------------------------------------------------------------


def test_convert_creates_the_company_moves_the_stage_and_creates_the_deal(admin, lead, sales_pipeline):
    version = lead.version
    contact, deal, company = lead_convert(
        actor=admin,
        contact=lead,
        expected_version=version,
        pipeline_id=sales_pipeline.pipeline.pk,
        amount="1500.50",
        company_name="Hopper Labs",
    )
    assert company is not None and company.name == "Hopper Labs" and company.org_id == admin.org_id
    assert contact.lifecycle_stage == "opportunity" and contact.company_id == company.pk
    assert contact.version == version + 1
    assert deal.name == "Hopper Labs deal" and str(deal.amount) == "1500.50"
    assert deal.currency == admin.org.base_currency
    assert deal.contact_id == lead.pk and deal.company_id == company.pk
    assert deal.pipeline_id == sales_pipeline.pipeline.pk and deal.stage == sales_pipeline.stages["Qualified"]
    history = list(DealStage.objects.filter(deal=deal).values_list("stage_id", "left_at"))
    assert history == [(sales_pipeline.stages["Qualified"].pk, None)]
    assert _verbs(lead) == ["contact.updated", "contact.converted"]
    converted = Event.objects.get(verb="contact.converted")
    assert converted.changes["deal_id"] == [None, deal.pk]
    assert converted.changes["lifecycle_stage"] == ["lead", "opportunity"]
    assert converted.changes["company_id"] == [None, company.pk]
    assert Event.objects.filter(verb="deal.created", subject_id=deal.pk).exists()
    assert Event.objects.filter(verb="company.created", subject_id=company.pk).exists()


def test_convert_links_an_existing_company(admin, org, sales_pipeline, company):
    mql = contact_with(org, first_name="Mia", lifecycle_stage="marketing_qualified")
    contact, deal, linked = lead_convert(
        actor=admin,
        contact=mql,
        expected_version=None,
        pipeline_id=sales_pipeline.pipeline.pk,
        deal_name="Renewal",
        currency="usd",
        company_id=company.pk,
    )
    assert linked == company and contact.company_id == company.pk and deal.company_id == company.pk
    assert deal.name == "Renewal" and deal.currency == "USD"
    assert Company.objects.filter(org=org).count() == 1


def test_convert_keeps_the_contacts_own_company(admin, ada, sales_pipeline, company):
    assert ada.lifecycle_stage == "lead"
    contact, deal, linked = lead_convert(
        actor=admin, contact=ada, expected_version=ada.version, pipeline_id=sales_pipeline.pipeline.pk
    )
    assert linked == company and deal.company_id == company.pk and deal.name == "Acme Corp deal"
    assert contact.company_id == company.pk and contact.lifecycle_stage == "opportunity"


def test_a_contact_without_company_gets_a_deal_named_after_them(admin, lead, sales_pipeline):
    contact, deal, company = lead_convert(
        actor=admin, contact=lead, expected_version=lead.version, pipeline_id=sales_pipeline.pipeline.pk
    )
    assert company is None and contact.company_id is None and deal.name == "Grace Hopper deal"


@pytest.mark.parametrize(
    "bad",
    [
        {"amount": -5},
        {"amount": "lots"},
        {"currency": "XXQ"},
        {"pipeline_id": 0},
        {"owner_id": 999999},
    ],
)
def test_invalid_deal_data_changes_nothing(admin, org, lead, sales_pipeline, bad):
    before = _state(org, lead)
    kwargs: dict[str, Any] = {"pipeline_id": sales_pipeline.pipeline.pk, "company_name": "Never Inc", **bad}
    with pytest.raises(ValidationFailed):
        lead_convert(actor=admin, contact=lead, expected_version=lead.version, **kwargs)
    assert _state(org, lead) == before
    assert not Company.objects.filter(name="Never Inc").exists()


def test_a_stage_of_another_workspaces_pipeline_changes_nothing(admin, org, lead, sales_pipeline, other_pipeline):
    before = _state(org, lead)
    with pytest.raises(ValidationFailed) as exc:
        lead_convert(
            actor=admin,
            contact=lead,
            expected_version=lead.version,
            pipeline_id=sales_pipeline.pipeline.pk,
            stage_id=other_pipeline.stages["Proposal"].pk,
            company_name="Never Inc",
        )
    assert "stage_id" in exc.value.fields
    assert _state(org, lead) == before


def test_another_workspaces_company_is_refused(admin, org, other_org, lead, sales_pipeline):
    theirs = Company.objects.create(org=other_org, name="Globex")
    before = _state(org, lead)
    with pytest.raises(ValidationFailed) as exc:
        lead_convert(
            actor=admin,
            contact=lead,
            expected_version=lead.version,
            pipeline_id=sales_pipeline.pipeline.pk,
            company_id=theirs.pk,
        )
    assert "company_id" in exc.value.fields and _state(org, lead) == before


def test_a_contact_that_is_not_a_lead_is_refused(admin, org, sales_pipeline):
    customer = contact_with(org, first_name="Cy", lifecycle_stage="customer")
    before = _state(org, customer)
    with pytest.raises(Conflict) as exc:
        lead_convert(
            actor=admin, contact=customer, expected_version=customer.version, pipeline_id=sales_pipeline.pipeline.pk
        )
    assert exc.value.code == "not_a_lead" and exc.value.status == 409
    assert _state(org, customer) == before


def test_a_stale_version_changes_nothing(admin, org, lead, sales_pipeline):
    before = _state(org, lead)
    with pytest.raises(StaleVersion):
        lead_convert(
            actor=admin,
            contact=lead,
            expected_version=lead.version + 3,
            pipeline_id=sales_pipeline.pipeline.pk,
            company_name="Never Inc",
        )
    assert _state(org, lead) == before


def test_a_viewer_cannot_convert(member_of, org, lead, sales_pipeline):
    viewer = member_of(Role.VIEWER)
    before = _state(org, lead)
    with pytest.raises(PermissionDenied):
        lead_convert(actor=viewer, contact=lead, expected_version=lead.version, pipeline_id=sales_pipeline.pipeline.pk)
    assert _state(org, lead) == before


# --- API ---------------------------------------------------------------------------------------


def _url(contact: Contact) -> str:
    return f"/api/v1/contacts/{contact.pk}/convert"


def test_api_converts_a_lead(api, admin, org, lead, sales_pipeline):
    client = api(admin)
    payload = {"pipeline_id": sales_pipeline.pipeline.pk, "amount": "900.00", "company_name": "Hopper Labs"}
    api_error(client.post(_url(lead), payload), 428)
    resp = client.post(_url(lead), payload, **{"If-Match": f'"v{lead.version}"', "Idempotency-Key": "conv-1"})
    assert resp.status_code == 201, resp.content
    body = resp.json()
    company = Company.objects.get(org=org, name="Hopper Labs")
    assert body["lifecycle_stage"] == "opportunity" and body["company_id"] == company.pk
    assert body["contact_version"] == lead.version + 1
    assert body["deal"]["name"] == "Hopper Labs deal" and body["deal"]["amount"] == "900.00"
    assert body["deal"]["stage"]["id"] == sales_pipeline.stages["Qualified"].pk
    replay = client.post(_url(lead), payload, **{"If-Match": f'"v{lead.version}"', "Idempotency-Key": "conv-1"})
    assert replay.status_code == 201 and replay.json() == body and replay["Idempotent-Replayed"] == "true"
    assert Deal.objects.filter(org=org).count() == 1
    err = api_error(client.post(_url(lead), payload, **{"If-Match": f'"v{lead.version + 1}"'}), 409)
    assert err["code"] == "not_a_lead"


def test_api_refuses_bad_input_and_changes_nothing(api, admin, org, lead, sales_pipeline, other_pipeline):
    client = api(admin)
    match = {"If-Match": f'"v{lead.version}"'}
    before = _state(org, lead)
    base = {"pipeline_id": sales_pipeline.pipeline.pk, "company_name": "Never Inc"}
    err = api_error(client.post(_url(lead), {**base, "stage_id": other_pipeline.stages["Won"].pk}, **match), 422)
    assert "stage_id" in err["fields"]
    api_error(client.post(_url(lead), {**base, "amount": "-1"}, **match), 422)
    api_error(client.post(_url(lead), {**base, "colour": "red"}, **match), 422)
    api_error(client.post(_url(lead), {"company_name": "Never Inc"}, **match), 422)
    api_error(client.post(_url(lead), {**base, "pipeline_id": other_pipeline.pipeline.pk}, **match), 422)
    api_error(client.post(_url(lead), base, **{"If-Match": f'"v{lead.version + 1}"'}), 412)
    assert _state(org, lead) == before


def test_api_viewer_gets_403_and_nothing_changes(api, member_of, org, lead, sales_pipeline):
    client = api(member_of(Role.VIEWER))
    before = _state(org, lead)
    payload = {"pipeline_id": sales_pipeline.pipeline.pk}
    api_error(client.post(_url(lead), payload, **{"If-Match": f'"v{lead.version}"'}), 403)
    assert _state(org, lead) == before


def test_api_another_workspaces_contact_is_404(api, member_of, org, other_org, lead, sales_pipeline, other_pipeline):
    outsider = member_of(Role.ADMIN, other_org)
    client = api(outsider)
    before = _state(org, lead)
    payload = {"pipeline_id": other_pipeline.pipeline.pk}
    api_error(client.post(_url(lead), payload, **{"If-Match": f'"v{lead.version}"'}), 404)
    api_error(client.post("/api/v1/contacts/99999999/convert", payload, **{"If-Match": '"v1"'}), 404)
    assert _state(org, lead) == before


# --- page --------------------------------------------------------------------------------------


def _page(contact: Contact) -> str:
    return f"/deals/convert/{contact.pk}/"


def test_contact_page_links_to_convert_only_for_leads_the_user_may_change(web, member_of, admin, org, lead):
    customer = contact_with(org, first_name="Cy", lifecycle_stage="customer")
    client = web(admin)
    assert _page(lead) in client.get(f"/contacts/{lead.pk}/").content.decode()
    assert _page(customer) not in client.get(f"/contacts/{customer.pk}/").content.decode()
    viewer_client = web(member_of(Role.VIEWER))
    assert _page(lead) not in viewer_client.get(f"/contacts/{lead.pk}/").content.decode()


def test_page_get_shows_defaults_and_post_converts(web, admin, org, ada, sales_pipeline):
    client = web(admin)
    html = client.get(_page(ada)).content.decode()
    assert "Acme Corp deal" in html and 'value="Acme Corp"' in html and sales_pipeline.pipeline.name in html
    resp = client.post(
        _page(ada),
        {
            "pipeline": sales_pipeline.pipeline.pk,
            "deal_name": "",
            "amount": "250",
            "currency": "EUR",
            "company": "Brand New Co",
            "version": ada.version,
        },
    )
    assert resp.status_code == 302, resp.content.decode()[:2000]
    deal = Deal.objects.get(org=org)
    assert resp["Location"] == f"/deals/{deal.pk}/"
    assert deal.name == "Brand New Co deal" and deal.company is not None and deal.company.name == "Brand New Co"
    contact = Contact.objects.get(pk=ada.pk)
    assert contact.lifecycle_stage == "opportunity" and contact.company_id == ada.company_id  # kept its own
    # once converted, the page says so instead of offering the form again
    again = client.get(_page(ada))
    assert again.status_code == 200 and "not a lead" in again.content.decode()


def test_page_links_an_existing_company_by_name(web, admin, org, lead, company, sales_pipeline):
    client = web(admin)
    data = {"pipeline": sales_pipeline.pipeline.pk, "amount": "0", "currency": "EUR", "company": "acme corp"}
    resp = client.post(_page(lead), {**data, "version": lead.version})
    assert resp.status_code == 302
    assert Contact.objects.get(pk=lead.pk).company_id == company.pk
    assert Company.objects.filter(org=org).count() == 1


def test_page_bad_input_shows_errors_and_changes_nothing(web, admin, org, lead, sales_pipeline, other_pipeline):
    client = web(admin)
    before = _state(org, lead)
    good = {
        "pipeline": sales_pipeline.pipeline.pk,
        "amount": "10",
        "currency": "EUR",
        "company": "Never Inc",
        "version": lead.version,
    }
    for bad, status in (
        ({"amount": "-3"}, 400),
        ({"amount": "abc"}, 400),
        ({"pipeline": other_pipeline.pipeline.pk}, 400),
        ({"currency": "ZZZ"}, 400),
        ({"version": ""}, 400),
        ({"deal_name": "x" * 300}, 400),
        ({"version": lead.version + 5}, 412),
    ):
        resp = client.post(_page(lead), {**good, **bad})
        assert resp.status_code == status, (bad, resp.status_code)
        assert "Convert to deal" in resp.content.decode()
    assert _state(org, lead) == before


def test_page_permission_denied_and_other_workspace(web, member_of, org, other_org, lead, sales_pipeline):
    before = _state(org, lead)
    viewer = web(member_of(Role.VIEWER))
    assert viewer.get(_page(lead)).status_code == 403
    post = {"pipeline": sales_pipeline.pipeline.pk, "amount": "1", "currency": "EUR", "version": lead.version}
    assert viewer.post(_page(lead), post).status_code == 403
    outsider = web(member_of(Role.ADMIN, other_org))
    assert outsider.get(_page(lead)).status_code == 404
    assert outsider.post(_page(lead), post).status_code == 404
    assert outsider.get("/deals/convert/99999999/").status_code == 404
    assert _state(org, lead) == before


def test_page_for_a_contact_that_is_not_a_lead(web, admin, org, sales_pipeline):
    customer = contact_with(org, first_name="Cy", lifecycle_stage="customer")
    client = web(admin)
    assert "not a lead" in client.get(_page(customer)).content.decode()
    post = {"pipeline": sales_pipeline.pipeline.pk, "amount": "1", "currency": "EUR", "version": customer.version}
    assert client.post(_page(customer), post).status_code == 409
    assert Deal.objects.filter(org=org).count() == 0
