"""The business's settings on the audit trail.

They come from the environment, so they change when the service is restarted with new values:
each start records them if they differ from the last recorded ones.
"""

from __future__ import annotations

from django.conf import settings

from receivables.core import audit, context
from receivables.core.models import AuditEntry

AUDITED = (
    "REFUND_APPROVAL_THRESHOLD",
    "RECEIVABLES_BASE_CURRENCY",
    "RECEIVABLES_GATEWAY",
    "TIME_ZONE",
    "AXES_FAILURE_LIMIT",
    "PRODUCTION",
    "DEBUG",
)
BUSINESS = audit.Subject("settings", "business", "business settings")


def current() -> dict[str, str]:
    return {name: str(getattr(settings, name)) for name in AUDITED}


def last_recorded() -> dict | None:
    found = AuditEntry.objects.filter(object_type=BUSINESS.object_type, object_id=BUSINESS.object_id)
    return found.order_by("-id").values_list("after", flat=True).first()


def record_if_changed(via: str) -> AuditEntry | None:
    now, before = current(), last_recorded()
    if now == before:
        return None
    with context.acting(via=via):
        return audit.record("settings.change", BUSINESS, before=before, after=now)
