from __future__ import annotations

from django.conf import settings
from django.db import models


class Decision(models.TextChoices):
    APPROVED = "approved"
    REJECTED = "rejected"


class RefundApproval(models.Model):
    """A second person's approval or rejection of a refund (maker–checker), with a comment."""

    refund = models.ForeignKey("documents.Document", on_delete=models.PROTECT, related_name="approvals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    comment = models.CharField(max_length=500, blank=True, default="")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.decision} by {self.user_id}"
