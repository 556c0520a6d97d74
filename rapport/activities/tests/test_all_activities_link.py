"""The contact and company pages link to the activity list filtered to that contact or company."""

from __future__ import annotations


def test_the_contact_page_links_to_its_activities(web, admin, ada):
    html = web(admin).get(f"/contacts/{ada.pk}/").content.decode()
    assert f'href="/activities/?contact={ada.pk}"' in html and "All activities" in html


def test_the_link_opens_the_filtered_list(web, admin, ada):
    assert web(admin).get(f"/activities/?contact={ada.pk}").status_code == 200


def test_the_company_page_links_to_its_activities_not_to_a_contacts(web, admin, company):
    html = web(admin).get(f"/companies/{company.pk}/").content.decode()
    assert f'href="/activities/?company={company.pk}"' in html and "All activities" in html
    assert "/activities/?contact=" not in html
