from django.urls import path

from rapport.activities import email_template_views as views

app_name = "email_templates"
urlpatterns = [
    path("settings/email-templates/", views.email_template_list_view, name="list"),
    path("settings/email-templates/new/", views.email_template_create_view, name="create"),
    path("settings/email-templates/<int:template_id>/", views.email_template_edit_view, name="edit"),
    path("settings/email-templates/<int:template_id>/delete/", views.email_template_delete_view, name="delete"),
]
