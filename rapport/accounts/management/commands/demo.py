"""`rapport demo`: create or refresh the demo workspace "Acme Demo" with one user per role.

Deterministic (same users, same data every run) and idempotent. Later apps add their demo data
through `rapport.accounts.demo.DEMO_STEPS`.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from rich.console import Console
from rich.table import Table

from rapport.accounts.demo import DEFAULT_PASSWORD, build_demo


class Command(BaseCommand):
    help = "Create (or refresh) the demo workspace 'Acme Demo' with one user per role, and print the logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password", default=DEFAULT_PASSWORD, help=f"Password of every demo user (default: {DEFAULT_PASSWORD})."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = build_demo(password=options["password"])
        console = Console(file=sys.stdout, force_terminal=False, width=100)
        table = Table(title=f"Demo workspace “{result.org.name}” — log in at /login/")
        table.add_column("Role")
        table.add_column("Email")
        table.add_column("Password")
        for role, email in result.logins:
            table.add_row(role, email, options["password"])
        console.print(table)
