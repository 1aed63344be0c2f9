"""The append-only audit trail. Services call ``record`` in the transaction of the change."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import models
from django.db.models import QuerySet

from receivables.core import context, rows
from receivables.core.models import AuditEntry


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


@dataclass(frozen=True)
class Subject:
    """What a row is about when it is not a model instance, such as the business settings."""

    object_type: str
    object_id: str
    label: str


def _subject(obj: models.Model | Subject, label: str) -> Subject:
    if isinstance(obj, Subject):
        return obj
    return Subject(obj._meta.model_name or "", str(obj.pk), label or str(obj))


@dataclass(frozen=True)
class Change:
    """One audit row to write: what was done to which object, and its state before and after."""

    action: str
    obj: models.Model | Subject
    before: dict | None
    after: dict | None
    comment: str = ""
    label: str = ""


def record(
    action: str,
    obj: models.Model | Subject,
    *,
    before: dict | None,
    after: dict | None,
    user: Any = None,
    comment: str = "",
    label: str = "",
) -> AuditEntry:
    entry = _entry(Change(action, obj, before, after, comment, label), user)
    # Every write records itself here: one plain INSERT, not the ORM's save.
    return rows.insert(entry)


def record_many(changes: list[Change], *, user: Any = None) -> None:
    """``record`` for a batch of changes made by one caller: one multi-row INSERT."""
    rows.insert_many([_entry(change, user) for change in changes])


def _entry(change: Change, user: Any) -> AuditEntry:
    actor = context.current()
    who = person(user) or person(actor.user)
    subject = _subject(change.obj, change.label)
    return AuditEntry(
        actor=who,
        actor_name=getattr(who, "username", "") or actor.via,
        via=actor.via,
        minted_by=person(actor.minted_by),
        request_id=actor.request_id,
        client_address=actor.client_address,
        action=change.action,
        object_type=subject.object_type,
        object_id=subject.object_id,
        object_label=subject.label[:60],
        before=change.before,
        after=change.after,
        comment=change.comment[:500],
    )


def changed_fields(entry: AuditEntry) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for each field the change touched, for people reading the trail."""
    before, after = entry.before or {}, entry.after or {}
    names = list(dict.fromkeys([*before, *after]))
    return [(name, before.get(name), after.get(name)) for name in names if before.get(name) != after.get(name)]


def entries_for(object_type: str, object_id: str) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(object_type=object_type, object_id=object_id).select_related("actor", "minted_by")
