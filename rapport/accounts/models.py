"""Workspaces, users, memberships, teams, invitations and API tokens."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

from rapport.accounts.roles import Role
from rapport.core.models import OrgScopedModel


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in with an email address. Belongs to workspaces through memberships."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.name or self.email


class Organization(models.Model):
    """A workspace: every domain record belongs to exactly one."""

    name = models.CharField(max_length=150)
    slug = models.SlugField(max_length=80, unique=True)
    require_2fa = models.BooleanField(default=False)
    # Phone numbers typed without a +country code are read as numbers of this region (ISO 3166).
    default_region = models.CharField(max_length=2, default="US")
    # Reports, board totals and forecasts convert every amount into this currency (ISO 4217).
    base_currency = models.CharField(max_length=3, default="USD")
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return self.name


class Membership(OrgScopedModel):
    """A user's place in a workspace: their role there, and whether they may still log in to it."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=[(r.value, r.label) for r in Role])
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "user"], name="membership_unique_user")]
        indexes = [models.Index(fields=["user", "is_active"], name="membership_user_active")]

    def __str__(self) -> str:
        return f"{self.user} in {self.org} as {self.role}"


class Team(OrgScopedModel):
    name = models.CharField(max_length=100)
    members = models.ManyToManyField(Membership, related_name="teams", blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "name"], name="team_unique_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Invitation(OrgScopedModel):
    """An emailed link that lets a person join a workspace with a given role."""

    email = models.EmailField()
    role = models.CharField(max_length=20, choices=[(r.value, r.label) for r in Role])
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["org", "email"], name="invitation_org_email")]

    def __str__(self) -> str:
        return f"invitation of {self.email} to {self.org}"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class ApiToken(OrgScopedModel):
    """A personal API token for one workspace. Only a SHA-256 of the secret is stored."""

    class Scope(models.TextChoices):
        READ = "read", "Read only"
        WRITE = "write", "Read and write"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=5, choices=Scope.choices, default=Scope.READ)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["org", "user", "-created_at"], name="apitoken_org_user")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())
