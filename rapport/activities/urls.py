from django.urls import path

from rapport.activities import views

app_name = "activities"
urlpatterns = [
    path("contacts/<int:contact_id>/activities/", views.contact_panel, name="contact_panel"),
    path("contacts/<int:contact_id>/activities/<slug:name>/", views.contact_form, name="contact_form"),
    path("companies/<int:company_id>/activities/", views.company_panel, name="company_panel"),
    path("companies/<int:company_id>/activities/<slug:name>/", views.company_form, name="company_form"),
]
