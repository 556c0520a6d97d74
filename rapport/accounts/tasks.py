"""Emails of the accounts app, sent by the worker. Links are made here so no secret sits in the queue."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from huey.contrib.djhuey import db_task

from rapport.accounts.models import User
from rapport.accounts.services import invitation_issue_link


def _send(template: str, to: str, context: dict[str, object]) -> None:
    subject = render_to_string(f"accounts/email/{template}_subject.txt", context).strip()
    body = render_to_string(f"accounts/email/{template}.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])


@db_task(retries=3, retry_delay=60)
def send_invitation_email(invitation_id: int) -> None:
    issued = invitation_issue_link(invitation_id=invitation_id)
    if issued is None:
        return
    invitation, secret = issued
    link = settings.BASE_URL + reverse("accounts:invitation_accept", args=[secret])
    inviter = invitation.created_by.display_name if invitation.created_by else "A colleague"
    _send(
        "invitation",
        invitation.email,
        {
            "invitation": invitation,
            "workspace": invitation.org.name,
            "inviter": inviter,
            "link": link,
            "role": invitation.get_role_display(),
        },
    )


@db_task(retries=3, retry_delay=60)
def send_password_reset_email(user_id: int) -> None:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.has_usable_password():
        return
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = settings.BASE_URL + reverse("accounts:password_reset_confirm", args=[uid, token])
    _send("password_reset", user.email, {"user": user, "link": link, "hours": settings.PASSWORD_RESET_TIMEOUT // 3600})
