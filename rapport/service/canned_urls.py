"""Canned reply pages (rapport.service.canned_views)."""

from django.urls import path

from rapport.service import canned_views as views

app_name = "canned"
urlpatterns = [
    path("service/canned-replies/", views.canned_list_view, name="list"),
    path("service/canned-replies/new/", views.canned_create_view, name="new"),
    path("service/canned-replies/<int:reply_id>/", views.canned_edit_view, name="edit"),
    path("service/canned-replies/<int:reply_id>/delete/", views.canned_delete_view, name="delete"),
]
