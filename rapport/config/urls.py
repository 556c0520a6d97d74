from django.contrib import admin
from django.urls import include, path

from rapport.config.api import api
from rapport.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
    path("", include("rapport.accounts.urls")),
    path("", include("rapport.contacts.urls")),
    path("", include("rapport.activities.urls")),
    path("", include("rapport.activities.task_urls")),
    path("", include("rapport.activities.email_template_urls")),
    path("", include("rapport.activities.email_urls")),
    path("", include("rapport.integrations.urls")),
    path("", include("rapport.integrations.mailbox_urls")),
    path("", include("rapport.sales.catalog_urls")),
    path("", include("rapport.sales.pipeline_urls")),
    path("", include("rapport.sales.deal_urls")),
    path("", include("rapport.sales.lead_urls")),
    path("", include("rapport.sales.forecast_urls")),
    path("", include("rapport.sales.quote_urls")),
    path("", include("rapport.sales.dashboard_urls")),
    path("", include("rapport.sales.competitor_urls")),
    path("", include("rapport.sales.order_urls")),
    path("", include("rapport.service.ticket_urls")),
    path("", include("rapport.service.support_mailbox_urls")),
    path("", include("rapport.service.public_urls")),
    path("", include("rapport.service.canned_urls")),
    path("", include("rapport.service.dashboard_urls")),
    path("", include("rapport.service.settings_urls")),
    path("", include("rapport.web.urls")),
]
