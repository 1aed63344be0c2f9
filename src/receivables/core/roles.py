"""Staff roles as Django groups, and service accounts (for integrations, never a second person)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, Group

from receivables.core import audit
from receivables.core.errors import ReceivablesError

ROLES = ("viewer", "clerk", "approver", "admin")
# A user in this group is a machine's identity: an admin mints its tokens, and it never counts
# as the second person of maker–checker (the person behind it is whoever minted the token).
SERVICE_ACCOUNT = "service_account"


def assign_role(user: AbstractUser, role: str, *, service_account: bool = False) -> None:
    if role not in ROLES:
        raise ReceivablesError("invalid_choice", f"must be one of: {', '.join(ROLES)}", "role")
    before = {"role": role_of(user), "is_active": user.is_active, "service_account": is_service_account(user)}
    groups = [Group.objects.get_or_create(name=name)[0] for name in (role, SERVICE_ACCOUNT)[: 1 + service_account]]
    user.groups.set(groups)
    user.is_staff = True
    user.is_superuser = role == "admin" and not service_account
    user.save(update_fields=["is_staff", "is_superuser"])
    after = {"role": role, "is_active": user.is_active, "service_account": service_account}
    audit.record("user.role", user, before=before, after=after, label=user.get_username())


def role_of(user: AbstractUser) -> str | None:
    if user.is_superuser:
        return "admin"
    names = set(user.groups.values_list("name", flat=True))
    return next((role for role in reversed(ROLES) if role in names), None)


def is_service_account(user: object) -> bool:
    return isinstance(user, AbstractUser) and user.pk is not None and user.groups.filter(name=SERVICE_ACCOUNT).exists()
