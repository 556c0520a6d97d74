from django.urls import path

from rapport.activities import email_views

app_name = "emails"
urlpatterns = [
    path("contacts/<int:contact_id>/email/", email_views.contact_compose, name="contact_compose"),
    path("companies/<int:company_id>/email/", email_views.company_compose, name="company_compose"),
    path("activities/<int:activity_id>/reply/", email_views.reply_compose, name="reply"),
    path("activities/<int:activity_id>/invite/", email_views.invite_compose, name="invite"),
    path("activities/<int:activity_id>/resend/", email_views.resend, name="resend"),
]
