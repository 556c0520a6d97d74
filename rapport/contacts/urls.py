from django.urls import path

from rapport.contacts.views import detail, lists, suggest

app_name = "contacts"
urlpatterns = [
    path("contacts/", lists.contact_list, name="list"),
    path("contacts/new/", lists.contact_create, name="create"),
    path("contacts/trash/", lists.contact_trash, name="trash"),
    path("contacts/bulk/", lists.contact_bulk, name="bulk"),
    path("contacts/views/save/", lists.contact_view_save, name="view_save"),
    path("contacts/<int:contact_id>/", detail.contact_detail, name="detail"),
    path("contacts/<int:contact_id>/facts/", detail.contact_facts, name="facts"),
    path("contacts/<int:contact_id>/timeline/", detail.contact_timeline, name="timeline"),
    path("contacts/<int:contact_id>/section/<slug:name>/", detail.contact_section, name="section"),
    path("contacts/<int:contact_id>/section/<slug:name>/edit/", detail.contact_section_edit, name="section_edit"),
    path("contacts/<int:contact_id>/delete/", lists.contact_delete, name="delete"),
    path("contacts/<int:contact_id>/restore/", lists.contact_restore, name="restore"),
    path("companies/", lists.company_list, name="company_list"),
    path("companies/new/", lists.company_create, name="company_create"),
    path("companies/trash/", lists.company_trash, name="company_trash"),
    path("companies/suggest/", suggest.company_suggest, name="company_suggest"),
    path("companies/bulk/", lists.company_bulk, name="company_bulk"),
    path("companies/views/save/", lists.company_view_save, name="company_view_save"),
    path("companies/<int:company_id>/", detail.company_detail, name="company_detail"),
    path("companies/<int:company_id>/facts/", detail.company_facts, name="company_facts"),
    path("companies/<int:company_id>/timeline/", detail.company_timeline, name="company_timeline"),
    path("companies/<int:company_id>/section/<slug:name>/", detail.company_section, name="company_section"),
    path(
        "companies/<int:company_id>/section/<slug:name>/edit/", detail.company_section_edit, name="company_section_edit"
    ),
    path("companies/<int:company_id>/delete/", lists.company_delete, name="company_delete"),
    path("companies/<int:company_id>/restore/", lists.company_restore, name="company_restore"),
]
