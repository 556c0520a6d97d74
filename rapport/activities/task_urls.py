from django.urls import path

from rapport.activities import task_views

app_name = "tasks"
urlpatterns = [
    path("notifications/", task_views.notification_page, name="notifications"),
    path("tasks/", task_views.task_list_page, name="list"),
    path("tasks/new/", task_views.task_create_page, name="add"),
    path("tasks/contacts/suggest/", task_views.contact_suggest, name="contact_suggest"),
    path("tasks/<int:task_id>/", task_views.task_detail_page, name="detail"),
    path("tasks/<int:task_id>/edit/", task_views.task_edit_page, name="edit"),
    path("tasks/<int:task_id>/delete/", task_views.task_delete_page, name="delete"),
    path("tasks/<int:task_id>/done/", task_views.task_done, name="done"),
    path("tasks/<int:task_id>/reopen/", task_views.task_reopen, name="reopen"),
]
