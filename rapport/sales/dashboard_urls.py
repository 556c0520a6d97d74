"""The sales dashboard page (rapport.sales.dashboard_views)."""

from django.urls import path

from rapport.sales import dashboard_views

app_name = "sales_dashboard"
urlpatterns = [
    path("sales/dashboard/", dashboard_views.dashboard_page, name="page"),
]
