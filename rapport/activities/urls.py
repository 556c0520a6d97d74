from django.urls import path

from rapport.activities import attachment_views, calendar_views, pages, views

app_name = "activities"
urlpatterns = [
    path("contacts/<int:contact_id>/activities/", views.contact_panel, name="contact_panel"),
    path("contacts/<int:contact_id>/activities/<slug:name>/", views.contact_form, name="contact_form"),
    path("companies/<int:company_id>/activities/", views.company_panel, name="company_panel"),
    path("companies/<int:company_id>/activities/<slug:name>/", views.company_form, name="company_form"),
    path("activities/", pages.activity_list_page, name="list"),
    path("activities/trash/", pages.activity_trash_page, name="trash"),
    path("activities/import-ics/", calendar_views.calendar_import_page, name="import_ics"),
    path("account/calendar/", calendar_views.calendar_settings_page, name="calendar_settings"),
    path("calendar/<str:secret>.ics", calendar_views.calendar_feed_view, name="calendar_feed"),
    path("activities/<int:activity_id>/", pages.activity_detail_page, name="detail"),
    path("activities/<int:activity_id>/edit/", pages.activity_edit_page, name="edit"),
    path("activities/<int:activity_id>/delete/", pages.activity_delete_page, name="delete"),
    path("activities/<int:activity_id>/privacy/", pages.activity_privacy_page, name="privacy"),
    path("activities/<int:activity_id>/restore/", pages.activity_restore_page, name="restore"),
    path("activities/<int:activity_id>/attachments/", attachment_views.attachment_upload, name="attachment_upload"),
    path(
        "activities/<int:activity_id>/attachments/<int:attachment_id>/",
        attachment_views.attachment_download,
        name="attachment_download",
    ),
    path(
        "activities/<int:activity_id>/attachments/<int:attachment_id>/delete/",
        attachment_views.attachment_delete,
        name="attachment_delete",
    ),
]
