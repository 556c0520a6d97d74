from django.urls import path

from rapport.integrations import views

app_name = "integrations"
urlpatterns = [
    path("settings/smtp/", views.smtp_settings_view, name="smtp"),
    path("settings/smtp/test/", views.smtp_test_view, name="smtp_test"),
    path("settings/smtp/delete/", views.smtp_delete_view, name="smtp_delete"),
]
