"""The append-only audit trail. Services call ``record`` in the transaction of the change."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import models
from django.db.models import QuerySet

from receivables.core import context
from receivables.core.models import AuditEntry
from receivables.ledger import rows


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(instance: models.Model, fields: tuple[str, ...]) -> dict[str, Any]:
    """The audited fields of a model instance, as JSON-ready values (ids for relations)."""
    values = {}
    for name in fields:
        field = instance._meta.get_field(name)
        attribute = field.attname if isinstance(field, models.ForeignKey) else name
        values[name] = _plain(getattr(instance, attribute))
    return values


def person(user: object) -> User | None:
    """The saved staff user behind ``user``, or None for the system and anonymous callers."""
    return user if isinstance(user, User) and user.pk else None


def record(
    action: str,
    obj: models.Model,
    *,
    before: dict | None,
    after: dict | None,
    user: Any = None,
    comment: str = "",
    label: str = "",
) -> AuditEntry:
    actor = context.current()
    who = person(user) or person(actor.user)
    entry = AuditEntry(
        actor=who,
        actor_name=getattr(who, "username", "") or actor.via,
        via=actor.via,
        request_id=actor.request_id,
        client_address=actor.client_address,
        action=action,
        object_type=obj._meta.model_name or "",
        object_id=str(obj.pk),
        object_label=(label or str(obj))[:60],
        before=before,
        after=after,
        comment=comment[:500],
    )
    # Every write records itself here: one plain INSERT, not the ORM's save.
    return rows.insert(entry)


def changed_fields(entry: AuditEntry) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for each field the change touched, for people reading the trail."""
    before, after = entry.before or {}, entry.after or {}
    names = list(dict.fromkeys([*before, *after]))
    return [(name, before.get(name), after.get(name)) for name in names if before.get(name) != after.get(name)]


def entries_for(object_type: str, object_id: str) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(object_type=object_type, object_id=object_id).select_related("actor")
