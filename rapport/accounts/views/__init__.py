"""Pages of the accounts app: authentication (auth.py) and workspace settings (settings.py)."""

from rapport.accounts.views.auth import lockout_response

__all__ = ["lockout_response"]
