from rapport.accounts.roles import Role


def test_me_answers_with_the_tokens_workspace_and_role(api, admin):
    resp = api(admin).get("/api/v1/me")
    assert resp.status_code == 200
    body = resp.json()
    assert body["workspace"]["id"] == admin.org_id
    assert body["role"] == Role.ADMIN
    assert body["access"]["member"] == {"read": "all", "write": "all"}


def test_password_reset_email_reaches_a_real_smtp_server(client, admin, smtp, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        resp = client.post("/password/reset/", {"email": admin.user.email})
    assert resp.status_code == 200
    bodies = smtp.bodies_to(admin.user.email)
    assert len(bodies) == 1 and "/password/reset/" in bodies[0]
