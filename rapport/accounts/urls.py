from django.urls import path

from rapport.accounts.views import auth, custom_fields, settings

app_name = "accounts"
urlpatterns = [
    path("login/", auth.login_view, name="login"),
    path("login/code/", auth.login_otp_view, name="login_otp"),
    path("logout/", auth.logout_view, name="logout"),
    path("password/reset/", auth.password_reset_view, name="password_reset"),
    path("password/reset/<uidb64>/<token>/", auth.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("invitation/<str:secret>/", auth.invitation_accept_view, name="invitation_accept"),
    path("workspace/switch/", auth.switch_workspace, name="switch_workspace"),
    path("account/", auth.profile_view, name="profile"),
    path("account/password/", auth.PasswordChangeView.as_view(), name="password_change"),
    path("account/2fa/setup/", auth.twofactor_setup_view, name="2fa_setup"),
    path("account/2fa/disable/", auth.twofactor_disable_view, name="2fa_disable"),
    path("settings/", settings.settings_index, name="settings"),
    path("settings/members/", settings.members_view, name="members"),
    path("settings/members/<int:member_id>/", settings.member_update_view, name="member_update"),
    path("settings/invitations/<int:invitation_id>/revoke/", settings.invitation_revoke_view, name="invitation_revoke"),
    path("settings/teams/", settings.teams_view, name="teams"),
    path("settings/teams/<int:team_id>/", settings.team_edit_view, name="team_edit"),
    path("settings/tokens/", settings.tokens_view, name="tokens"),
    path("settings/tokens/<int:token_id>/revoke/", settings.token_revoke_view, name="token_revoke"),
    path("settings/security/", settings.security_view, name="security"),
    path("settings/custom-fields/", custom_fields.custom_fields_view, name="custom_fields"),
    path("settings/custom-fields/new/", custom_fields.custom_field_create_view, name="custom_field_create"),
    path("settings/custom-fields/<int:field_id>/", custom_fields.custom_field_edit_view, name="custom_field_edit"),
    path(
        "settings/custom-fields/<int:field_id>/delete/",
        custom_fields.custom_field_delete_view,
        name="custom_field_delete",
    ),
    path("settings/audit/", settings.audit_view, name="audit"),
]
