"""`rapport createuser`: create a login and give it a role in a workspace (created if needed)."""

from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from rapport.accounts import services
from rapport.accounts.models import Membership, Organization
from rapport.accounts.roles import Role
from rapport.core.errors import ApplicationError
from rapport.core.principal import Principal


class Command(BaseCommand):
    help = "Create a user and add them to a workspace (a new workspace is created when none matches)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--name", default="")
        parser.add_argument("--password", help="Asked for when not given.")
        parser.add_argument("--workspace", required=True, help="Workspace name or slug.")
        parser.add_argument("--role", default=Role.ADMIN.value, choices=[r.value for r in Role])

    def handle(self, *args: Any, **options: Any) -> None:
        password = options["password"] or getpass.getpass("Password: ")
        try:
            with transaction.atomic():
                user = services.user_create(email=options["email"], password=password, name=options["name"])
                workspace = options["workspace"]
                org = (
                    Organization.objects.filter(slug=workspace).first()
                    or Organization.objects.filter(name=workspace).first()
                )
                if org is None:
                    if options["role"] != Role.ADMIN:
                        raise CommandError("A new workspace's first user must be an admin (--role admin).")
                    org, _ = services.workspace_create(name=workspace, admin=user)
                else:
                    admin = (
                        Membership.objects.select_related("user", "org")
                        .filter(org=org, role=Role.ADMIN, is_active=True)
                        .first()
                    )
                    if admin is None:
                        raise CommandError(f"Workspace {org.name} has no active admin.")
                    services.member_add(actor=Principal.for_membership(admin), user=user, role=options["role"])
        except ApplicationError as exc:
            details = "; ".join(f"{k}: {v}" for k, v in exc.fields.items()) or exc.message
            raise CommandError(details) from None
        self.stdout.write(self.style.SUCCESS(f"Created {user.email} as {options['role']} in {org.name}."))
