"""A company's support tier (which SLA policies can target): set through the API and the company
page, validated against SupportTier, shown in the facts of the company page."""

from __future__ import annotations

from rapport.contacts import services
from rapport.contacts.models import Company
from rapport.contacts.tests.factories import api_error
from rapport.core.models import Event

HX = {"HTTP_HX_REQUEST": "true"}


def test_the_api_sets_reads_and_clears_the_support_tier_and_refuses_an_unknown_one(api, admin):
    client = api(admin)
    resp = client.post("/api/v1/companies", {"name": "Initech", "support_tier": "premium"})
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["support_tier"] == "premium"
    url = f"/api/v1/companies/{body['id']}"
    assert client.get(url).json()["support_tier"] == "premium"
    assert [c["support_tier"] for c in client.get("/api/v1/companies").json()["items"]] == ["premium"]

    err = api_error(client.patch(url, {"support_tier": "platinum"}, **{"If-Match": '"v1"'}), 422)
    assert set(err["fields"]) == {"support_tier"}
    assert Company.objects.get(pk=body["id"]).support_tier == "premium"

    resp = client.patch(url, {"support_tier": "enterprise"}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200 and resp.json()["support_tier"] == "enterprise"
    assert Event.objects.get(verb="company.updated").changes == {"support_tier": ["premium", "enterprise"]}
    resp = client.patch(url, {"support_tier": ""}, **{"If-Match": '"v2"'})
    assert resp.status_code == 200 and resp.json()["support_tier"] == ""


def test_the_company_page_edits_and_shows_the_support_tier(web, admin):
    company = services.company_create(actor=admin, data={"name": "Initech"})
    client = web(admin)
    data = {
        "details-version": company.version,
        "details-name": "Initech",
        "details-support_tier": "enterprise",
        "details-parent": "",
        "details-owner": admin.user_id,
    }
    resp = client.post(f"/companies/{company.pk}/section/details/edit/", data, **HX)
    assert resp.status_code == 200, resp.content[:500]
    assert Company.objects.get(pk=company.pk).support_tier == "enterprise"
    page = client.get(f"/companies/{company.pk}/").content.decode()
    assert "Support tier" in page and "Enterprise" in page

    bad = client.post(
        f"/companies/{company.pk}/section/details/edit/",
        {**data, "details-version": 2, "details-support_tier": "gold"},
        **HX,
    )
    assert bad.status_code in (400, 422) and Company.objects.get(pk=company.pk).version == 2
