"""Staff roles as Django groups. Permission checks per role live with the screens and API."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, Group

from receivables.core import audit
from receivables.core.errors import ReceivablesError

ROLES = ("viewer", "clerk", "approver", "admin")


def assign_role(user: AbstractUser, role: str) -> None:
    if role not in ROLES:
        raise ReceivablesError("invalid_choice", f"must be one of: {', '.join(ROLES)}", "role")
    before = {"role": role_of(user), "is_active": user.is_active}
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.set([group])
    user.is_staff = True
    user.is_superuser = role == "admin"
    user.save(update_fields=["is_staff", "is_superuser"])
    audit.record(
        "user.role", user, before=before, after={"role": role, "is_active": user.is_active}, label=user.get_username()
    )


def role_of(user: AbstractUser) -> str | None:
    if user.is_superuser:
        return "admin"
    names = set(user.groups.values_list("name", flat=True))
    return next((role for role in reversed(ROLES) if role in names), None)
