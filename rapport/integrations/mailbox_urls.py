from django.urls import path

from rapport.integrations import mailbox_views

app_name = "mailboxes"
urlpatterns = [
    path("account/mailboxes/", mailbox_views.mailbox_list_page, name="list"),
    path("account/mailboxes/new/", mailbox_views.mailbox_create_page, name="create"),
    path("account/mailboxes/<int:mailbox_id>/edit/", mailbox_views.mailbox_edit_page, name="edit"),
    path("account/mailboxes/<int:mailbox_id>/delete/", mailbox_views.mailbox_delete_page, name="delete"),
    path("account/mailboxes/<int:mailbox_id>/sync/", mailbox_views.mailbox_sync_page, name="sync"),
]
