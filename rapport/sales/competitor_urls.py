"""The competitor pages (rapport.sales.competitor_views)."""

from django.urls import path

from rapport.sales import competitor_views

app_name = "competitors"
urlpatterns = [
    path("sales/competitors/", competitor_views.competitor_list_page, name="list"),
    path("sales/competitors/new/", competitor_views.competitor_create_page, name="create"),
    path("sales/competitors/<int:competitor_id>/", competitor_views.competitor_detail_page, name="detail"),
    path("sales/competitors/<int:competitor_id>/edit/", competitor_views.competitor_edit_page, name="edit"),
    path("sales/competitors/<int:competitor_id>/delete/", competitor_views.competitor_delete_page, name="delete"),
]
