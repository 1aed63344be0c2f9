"""API bearer tokens: shown once, stored as a SHA-256 digest, recognisable by prefix.

A token is minted by its own user, or by an admin for a service account; who minted it is kept,
so every change made with it names the person behind it.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from dataclasses import dataclass

from django.contrib.auth.models import AbstractUser, User
from django.db import transaction
from django.utils import timezone

from receivables.core import audit
from receivables.core.errors import ReceivablesError
from receivables.core.models import ApiToken
from receivables.core.roles import is_service_account

TOKEN_PREFIX = "rcv_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_may_mint(minter: object, user: AbstractUser) -> None:
    """Only the user themself, or an admin for a service account, may mint a user's token.

    Otherwise an admin could act as any approver and satisfy the four-eyes rule alone.
    """
    if minter == user or is_service_account(user):
        return
    raise ReceivablesError(
        "token_for_another_person", "a person's token is created only by that person; use a service account", "user"
    )


def create_token(user: User, *, expires_in_days: int | None = None, minted_by: object = None) -> str:
    """Return a new token. Only its digest is kept, so it cannot be shown again."""
    prefix = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    expires_at = timezone.now() + datetime.timedelta(days=expires_in_days) if expires_in_days else None
    record = ApiToken.objects.create(
        user=user, prefix=prefix, digest=_digest(token), expires_at=expires_at, created_by=audit.person(minted_by)
    )
    audit.record("api_token.create", record, before=None, after=_state(record), label=f"token {prefix}")
    return token


def _state(record: ApiToken) -> dict:
    return audit.snapshot(record, ("user", "prefix", "created_by", "expires_at", "revoked_at"))


def prefix_of(token: str) -> str:
    return token.removeprefix(TOKEN_PREFIX).partition("_")[0]


@dataclass(frozen=True)
class TokenUse:
    user: User
    prefix: str
    minted_by: User | None


def user_for_token(token: str) -> TokenUse | None:
    """The active user a live token belongs to, with the token's prefix and minter; None otherwise."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    record = ApiToken.objects.select_related("user", "created_by").filter(digest=_digest(token)).first()
    if record is None or record.revoked_at is not None or not record.user.is_active:
        return None
    now = timezone.now()
    if record.expires_at is not None and record.expires_at <= now:
        return None
    if record.last_used_at is None or now - record.last_used_at > datetime.timedelta(minutes=5):
        ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
    return TokenUse(record.user, record.prefix, record.created_by)


@transaction.atomic
def revoke(prefix: str) -> bool:
    record = ApiToken.objects.select_for_update().filter(prefix=prefix, revoked_at__isnull=True).first()
    if record is None:
        return False
    before = _state(record)
    record.revoked_at = timezone.now()
    record.save(update_fields=["revoked_at"])
    audit.record("api_token.revoke", record, before=before, after=_state(record), label=f"token {prefix}")
    return True
