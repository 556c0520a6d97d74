from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "rapport.accounts"
    label = "accounts"
    verbose_name = "Workspaces and users"

    def ready(self) -> None:
        from rapport.accounts import search, tasks  # noqa: F401  (registers tasks and search providers)
