"""Support mailbox pages (rapport.service.support_mailbox_views)."""

from django.urls import path

from rapport.service import support_mailbox_views as views

app_name = "support_mailboxes"
urlpatterns = [
    path("service/mailboxes/", views.support_mailbox_list_page, name="list"),
    path("service/mailboxes/new/", views.support_mailbox_create_page, name="new"),
    path("service/mailboxes/<int:support_id>/edit/", views.support_mailbox_edit_page, name="edit"),
    path("service/mailboxes/<int:support_id>/delete/", views.support_mailbox_delete_page, name="delete"),
]
