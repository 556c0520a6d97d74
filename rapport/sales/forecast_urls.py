"""The forecast page and the quota grid (rapport.sales.forecast_views)."""

from django.urls import path

from rapport.sales import forecast_views

app_name = "forecast"
urlpatterns = [
    path("sales/forecast/", forecast_views.forecast_page, name="page"),
    path("sales/forecast/quotas/", forecast_views.quotas_page, name="quotas"),
]
