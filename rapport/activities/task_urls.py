from django.urls import path

from rapport.activities import task_views

app_name = "tasks"
urlpatterns = [
    path("notifications/", task_views.notification_page, name="notifications"),
    path("tasks/new/", task_views.task_add, name="add"),
    path("tasks/<int:task_id>/done/", task_views.task_done, name="done"),
]
