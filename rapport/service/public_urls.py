"""Public pages of the service desk (no login): the contact form and the survey rating page."""

from django.urls import path

from rapport.service import public_views

app_name = "support"

urlpatterns = [
    path("support/rate/<str:token>/", public_views.rate_page, name="rate"),
    path("support/<slug:org_slug>/", public_views.support_form_page, name="form"),
    path("support/<slug:org_slug>/sent/<str:token>/", public_views.support_sent_page, name="sent"),
]
