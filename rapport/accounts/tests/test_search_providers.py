from rapport.accounts.roles import Role
from rapport.core.search import search
from rapport.testing.factories import make_principal


def test_admin_finds_a_member_by_part_of_their_email(admin, member_of):
    colleague = member_of(Role.SALES)
    hits = search(actor=admin, q=colleague.user.email.split("@")[0])
    assert [(h.kind, h.label) for h in hits if h.kind == "member"] == [("member", colleague.user.name)]


def test_members_of_another_workspace_are_never_found(admin, other_org):
    stranger = make_principal(other_org, Role.SALES, email="stranger@globex.example")
    assert [h for h in search(actor=admin, q="stranger") if h.kind == "member"] == []
    assert stranger.org_id != admin.org_id


def test_roles_without_settings_access_find_neither_members_nor_settings_pages(admin, member_of):
    sales = member_of(Role.SALES)
    assert [h.kind for h in search(actor=sales, q=admin.user.email)] == []
    labels = {h.label for h in search(actor=sales, q="t")}
    assert "API tokens" in labels and "Teams" not in labels and "Audit trail" not in labels
    admin_labels = {h.label for h in search(actor=admin, q="t")}
    assert {"Teams", "Audit trail", "API tokens"} <= admin_labels


def test_an_empty_or_blank_query_finds_nothing(admin):
    assert search(actor=admin, q="   ") == []
