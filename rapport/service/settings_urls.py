"""Customer service → Settings (the pages of rapport/service/settings_views.py)."""

from django.urls import path

from rapport.service import settings_views as views

app_name = "service_settings"

urlpatterns = [
    path("service/settings/", views.home_view, name="home"),
    path("service/settings/away/", views.away_view, name="away"),
    path("service/settings/queues/", views.queues_view, name="queues"),
    path("service/settings/queues/<int:queue_id>/", views.queue_edit_view, name="queue_edit"),
    path("service/settings/queues/<int:queue_id>/delete/", views.queue_delete_view, name="queue_delete"),
    path("service/settings/routing-rules/", views.rules_view, name="rules"),
    path("service/settings/routing-rules/move/", views.rule_move_view, name="rule_move"),
    path("service/settings/routing-rules/<int:rule_id>/", views.rule_edit_view, name="rule_edit"),
    path("service/settings/routing-rules/<int:rule_id>/delete/", views.rule_delete_view, name="rule_delete"),
    path("service/settings/sla-policies/", views.policies_view, name="policies"),
    path("service/settings/sla-policies/move/", views.policy_move_view, name="policy_move"),
    path("service/settings/sla-policies/<int:policy_id>/", views.policy_edit_view, name="policy_edit"),
    path("service/settings/sla-policies/<int:policy_id>/delete/", views.policy_delete_view, name="policy_delete"),
    path("service/settings/business-hours/", views.hours_view, name="hours"),
    path(
        "service/settings/business-hours/holidays/<int:holiday_id>/delete/",
        views.holiday_delete_view,
        name="holiday_delete",
    ),
]
