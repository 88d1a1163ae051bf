from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class UserRole(models.TextChoices):
    ADMIN = "admin", "Admin"
    USER = "user", "User"


class UserQuerySet(models.QuerySet["User"]):
    def visible_to(self, viewer) -> UserQuerySet:
        """Admins see every user, anyone else only themselves."""
        if not viewer.is_authenticated:
            return self.none()
        if viewer.is_admin:
            return self
        return self.filter(pk=viewer.pk)


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email: str | None) -> str:
        """The whole address is lower-cased: uniqueness and login ignore case."""
        return (email or "").strip().lower()

    def create_user(self, email: str, password: str | None = None, **extra_fields) -> User:
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra_fields) -> User:
        extra_fields.update(role=UserRole.ADMIN, is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an email address and places orders.

    Visible to that user and to admins.
    """

    email = models.EmailField(
        unique=True,
        max_length=254,
        help_text="Login address, unique ignoring case, stored lower-case.",
    )
    name = models.CharField(max_length=100, help_text="Display name, 1 to 100 characters.")
    role = models.CharField(
        max_length=10,
        choices=UserRole.choices,
        default=UserRole.USER,
        help_text="Access role: what the user may see and do.",
    )
    is_active = models.BooleanField(
        default=True, help_text="Inactive users cannot sign in and their tokens stop working."
    )
    is_staff = models.BooleanField(default=False, help_text="May use the Django admin.")
    date_joined = models.DateTimeField(default=timezone.now, help_text="When the user registered.")

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="users_user_email_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(email=Lower("email")), name="users_user_email_lowercase"
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=UserRole.values), name="users_user_role_valid"
            ),
        ]
        # Each ordering of the contract with the primary key after it: the keyset of a page
        # (`email` is unique, so its own index is one).
        indexes = [
            models.Index(fields=["date_joined", "id"], name="users_user_joined_keyset"),
            models.Index(fields=["name", "id"], name="users_user_name_keyset"),
            models.Index(fields=["role"], name="users_user_role_idx"),
            models.Index(fields=["is_active"], name="users_user_is_active_idx"),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = type(self).objects.normalize_email(self.email)

    @property
    def is_admin(self) -> bool:
        return self.role == UserRole.ADMIN


class RefreshTokenQuerySet(models.QuerySet["RefreshToken"]):
    def usable(self) -> RefreshTokenQuerySet:
        return self.filter(
            used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )


class RefreshToken(models.Model):
    """A refresh token, stored as its SHA-256 so a database leak yields no usable token.

    Tokens issued by rotating one another share a `family`; reusing a spent token
    revokes the whole family.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="refresh_tokens")
    family = models.UUIDField(db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True, help_text="Spent by a refresh.")
    revoked_at = models.DateTimeField(null=True, blank=True, help_text="Ended by logout or reuse.")

    objects = RefreshTokenQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"], name="users_refresh_user_revoked")]

    def __str__(self) -> str:
        return f"refresh token {self.pk} of user {self.user_id}"


class LoginFailure(models.Model):
    """A login attempt counted against a key (an email and client address pair, or an
    address) until its window passes (`apps.users.attempt_log`).

    Recorded before the password is checked, so that guesses sent in parallel are counted
    too; deleted when the password turns out right. Kept in the database, not the cache, so
    that the limits hold while Redis is down.
    """

    key = models.CharField(max_length=80, help_text="`pair:<sha256>` or `address:<sha256>`.")
    expires_at = models.DateTimeField(help_text="When the attempt leaves the window.")

    class Meta:
        indexes = [
            models.Index(fields=["key", "expires_at"], name="users_loginfailure_key"),
            models.Index(fields=["expires_at"], name="users_loginfailure_expiry"),
        ]

    def __str__(self) -> str:
        return f"login failure {self.pk} of {self.key}"
