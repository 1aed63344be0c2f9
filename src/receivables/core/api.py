"""The audit trail and API tokens over the API."""

from __future__ import annotations

import csv
import io
from typing import Annotated

from axes import utils as axes_utils
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field

from receivables.core import audit, spreadsheets, tokens
from receivables.core.errors import NotFound
from receivables.core.models import ApiToken, AuditEntry
from receivables.core.roles import ROLES, role_of
from receivables.core.schemas import REFUSED, ClosedSet, StrictIn, Timestamp, count, text

router = Router(tags=["audit and access"])


class AuditOut(Schema):
    id: int
    at: Timestamp
    actor: str
    via: str
    # Who minted the API token the change came through (an admin, for a service account's token).
    minted_by: str | None
    request_id: str
    client_address: str
    action: str
    object: str
    object_label: str
    before: dict | None
    after: dict | None
    comment: str


class AuditList(Schema):
    items: list[AuditOut]


def audit_out(entry: AuditEntry) -> dict:
    return {
        "id": entry.pk,
        "at": entry.at.isoformat(),
        "actor": entry.actor_name,
        "via": entry.via,
        "minted_by": entry.minted_by.get_username() if entry.minted_by else None,
        "request_id": entry.request_id,
        "client_address": entry.client_address,
        "action": entry.action,
        "object": f"{entry.object_type}:{entry.object_id}",
        "object_label": entry.object_label,
        "before": entry.before,
        "after": entry.after,
        "comment": entry.comment,
    }


def _entries(object_ref: str, limit: int) -> list[AuditEntry]:
    if object_ref:
        object_type, _, object_id = object_ref.partition(":")
        return list(audit.entries_for(object_type, object_id)[:limit])
    return list(AuditEntry.objects.select_related("minted_by").order_by("-id")[:limit])


ObjectRef = Annotated[str, text(80, required=False, example="document:42")]


@router.get("/audit", response={200: AuditList, **REFUSED})
def list_audit_entries(
    request: HttpRequest,
    object: ObjectRef = "",  # noqa: A002 - the contract's name
    limit: int = Query(200, ge=1, le=5000),
) -> dict:
    """Every change, newest first; ``object=document:42`` for one object's history, oldest first."""
    return {"items": [audit_out(e) for e in _entries(object, limit)]}


CSV = {
    "description": "The audit trail as CSV, one row per entry",
    "content": {"text/csv": {"schema": {"type": "string"}}},
}


@router.get("/audit.csv", response={200: None, **REFUSED}, openapi_extra={"responses": {200: CSV}})
def export_audit_csv(
    request: HttpRequest,
    object: ObjectRef = "",  # noqa: A002
    limit: int = Query(5000, ge=1, le=100000),
) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    columns = list(AuditOut.model_fields)
    writer.writerow(columns)
    for entry in _entries(object, limit):
        row = audit_out(entry)
        writer.writerow([spreadsheets.cell(row[c]) for c in columns])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit.csv"'
    return response


class TokenIn(StrictIn):
    user: Annotated[str, text(150)]
    expires_in_days: Annotated[int, count(1, 3650)] | None = None


Role = Annotated[str, ClosedSet("Role", ROLES)]


class TokenCreated(Schema):
    token: str
    prefix: str
    user: str
    role: Role | None
    expires_at: Timestamp | None


class TokenOut(Schema):
    prefix: str
    user: str
    role: Role | None = Field(description="the role the token acts with: its user's")
    created_at: Timestamp
    expires_at: Timestamp | None
    revoked_at: Timestamp | None
    last_used_at: Timestamp | None


class TokenList(Schema):
    items: list[TokenOut]


def _when(value: object) -> str | None:
    return value.isoformat() if value else None  # type: ignore[attr-defined]


def token_out(record: ApiToken) -> dict:
    return {
        "prefix": record.prefix,
        "user": record.user.get_username(),
        "role": role_of(record.user),
        "created_at": record.created_at.isoformat(),
        "expires_at": _when(record.expires_at),
        "revoked_at": _when(record.revoked_at),
        "last_used_at": _when(record.last_used_at),
    }


@router.get("/api-tokens", response={200: TokenList, **REFUSED})
def list_api_tokens(request: HttpRequest) -> dict:
    return {"items": [token_out(t) for t in ApiToken.objects.select_related("user").order_by("-id")[:1000]]}


@router.post("/api-tokens", response={201: TokenCreated, **REFUSED})
def create_api_token(request: HttpRequest, body: TokenIn) -> Status:
    """The token is shown here once; only its digest is kept."""
    user = get_user_model().objects.filter(username=body.user, is_active=True).first()
    if user is None:
        raise NotFound("user", body.user, "user")
    tokens.check_may_mint(request.user, user)
    token = tokens.create_token(user, expires_in_days=body.expires_in_days, minted_by=request.user)
    record = ApiToken.objects.get(prefix=tokens.prefix_of(token))
    return Status(
        201, {"token": token, **{k: v for k, v in token_out(record).items() if k in TokenCreated.model_fields}}
    )


@router.post("/api-tokens/{prefix}/revoke", response={200: TokenOut, **REFUSED})
def revoke_api_token(request: HttpRequest, prefix: Annotated[str, text(40)]) -> dict:
    if not tokens.revoke(prefix):
        raise NotFound("api_token", prefix, "prefix")
    return token_out(ApiToken.objects.select_related("user").get(prefix=prefix))


class UnlockOut(Schema):
    username: str
    attempts_cleared: int


@router.post("/users/{username}/unlock", response={200: UnlockOut, **REFUSED})
def unlock_user(request: HttpRequest, username: Annotated[str, text(150)]) -> dict:
    """Lift a login lockout of a username (its failed attempts are forgotten), on the audit trail."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise NotFound("user", username, "username")
    cleared = axes_utils.reset(username=username)
    audit.record("user.unlock", user, before=None, after={"attempts_cleared": cleared}, label=username)
    return {"username": username, "attempts_cleared": cleared}
