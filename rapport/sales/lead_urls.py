"""The lead conversion page (rapport.sales.lead_views)."""

from django.urls import path

from rapport.sales import lead_views

app_name = "leads"

urlpatterns = [
    path("deals/convert/<int:contact_id>/", lead_views.convert_page, name="convert"),
]
