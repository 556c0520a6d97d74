"""Settings → Pipelines (the pages of rapport/sales/pipeline_views.py)."""

from django.urls import path

from rapport.sales import pipeline_views as views

app_name = "pipelines"

urlpatterns = [
    path("settings/pipelines/", views.pipelines_view, name="list"),
    path("settings/pipelines/<int:pipeline_id>/", views.pipeline_edit_view, name="edit"),
    path("settings/pipelines/<int:pipeline_id>/delete/", views.pipeline_delete_view, name="delete"),
    path("settings/pipelines/<int:pipeline_id>/stages/", views.stage_create_view, name="stage_create"),
    path("settings/pipelines/<int:pipeline_id>/stages/move/", views.stage_move_view, name="stage_move"),
    path("settings/stages/<int:stage_id>/", views.stage_edit_view, name="stage_edit"),
    path("settings/stages/<int:stage_id>/delete/", views.stage_delete_view, name="stage_delete"),
]
