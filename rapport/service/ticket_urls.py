"""The ticket pages (rapport.service.ticket_views). Other pages link to a ticket with
`{% url 'service:detail' ticket.pk %}`; the actions of a ticket's page are POSTs (HTMX or plain)."""

from django.urls import path

from rapport.service import ticket_views

app_name = "service"

urlpatterns = [
    path("tickets/", ticket_views.list_page, name="list"),
    path("tickets/bulk/", ticket_views.bulk_view, name="bulk"),
    path("tickets/new/", ticket_views.create_page, name="new"),
    path("tickets/<int:ticket_id>/", ticket_views.detail_page, name="detail"),
    path("tickets/<int:ticket_id>/composer/", ticket_views.composer_view, name="composer"),
    path("tickets/<int:ticket_id>/reply/", ticket_views.reply_view, name="reply"),
    path("tickets/<int:ticket_id>/note/", ticket_views.note_view, name="note"),
    path("tickets/<int:ticket_id>/status/", ticket_views.status_view, name="status"),
    path("tickets/<int:ticket_id>/assign/", ticket_views.assign_view, name="assign"),
    path("tickets/<int:ticket_id>/properties/", ticket_views.properties_view, name="properties"),
    path("tickets/<int:ticket_id>/links/", ticket_views.link_view, name="link"),
    path("tickets/<int:ticket_id>/links/<int:other_id>/delete/", ticket_views.unlink_view, name="unlink"),
    path("tickets/<int:ticket_id>/delete/", ticket_views.delete_page, name="delete"),
]
