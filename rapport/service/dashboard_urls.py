"""The service dashboard page (rapport.service.dashboard_views)."""

from django.urls import path

from rapport.service import dashboard_views

app_name = "service_dashboard"
urlpatterns = [
    path("service/dashboard/", dashboard_views.dashboard_page, name="page"),
]
