"""Customer service → Settings (the pages of rapport/service/settings_views.py)."""

from django.urls import path

from rapport.service import settings_views as views

app_name = "service_settings"
# Routing rules and SLA policies: the same four views, told which list they serve.
RULES, POLICIES = {"kind": views.RULES}, {"kind": views.POLICIES}

urlpatterns = [
    path("service/settings/", views.home_view, name="home"),
    path("service/settings/away/", views.away_view, name="away"),
    path("service/settings/queues/", views.queues_view, name="queues"),
    path("service/settings/queues/<int:queue_id>/", views.queue_edit_view, name="queue_edit"),
    path("service/settings/queues/<int:queue_id>/delete/", views.queue_delete_view, name="queue_delete"),
    path("service/settings/routing-rules/", views.ordered_list_view, RULES, name="rules"),
    path("service/settings/routing-rules/move/", views.ordered_move_view, RULES, name="rule_move"),
    path("service/settings/routing-rules/<int:pk>/", views.ordered_edit_view, RULES, name="rule_edit"),
    path("service/settings/routing-rules/<int:pk>/delete/", views.ordered_delete_view, RULES, name="rule_delete"),
    path("service/settings/sla-policies/", views.ordered_list_view, POLICIES, name="policies"),
    path("service/settings/sla-policies/move/", views.ordered_move_view, POLICIES, name="policy_move"),
    path("service/settings/sla-policies/<int:pk>/", views.ordered_edit_view, POLICIES, name="policy_edit"),
    path("service/settings/sla-policies/<int:pk>/delete/", views.ordered_delete_view, POLICIES, name="policy_delete"),
    path("service/settings/business-hours/", views.hours_view, name="hours"),
    path(
        "service/settings/business-hours/holidays/<int:holiday_id>/delete/",
        views.holiday_delete_view,
        name="holiday_delete",
    ),
]
