from __future__ import annotations

from django.db import models


class TransactionKind(models.TextChoices):
    CHARGE = "charge"
    REFUND = "refund"
    VOID = "void"


class TransactionStatus(models.TextChoices):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    UNKNOWN = "unknown"


class ETransaction(models.Model):
    """Our record of one call to a payment gateway, written before the call is made."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="transactions")
    document = models.ForeignKey(
        "documents.Document", null=True, blank=True, on_delete=models.PROTECT, related_name="transactions"
    )
    kind = models.CharField(max_length=10, choices=TransactionKind.choices)
    gateway = models.CharField(max_length=40)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    payment_method = models.CharField(max_length=100, blank=True, default="")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    idempotency_key = models.CharField(max_length=100, unique=True)
    reference = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(max_length=10, choices=TransactionStatus.choices)
    decline_reason = models.CharField(max_length=200, blank=True, default="")
    answer = models.JSONField(default=dict, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        indexes = [
            models.Index(fields=["customer", "kind", "status"], name="etx_customer_kind_status"),
            models.Index(fields=["status"], name="etx_status"),
        ]
        constraints = [models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="etx_amount_positive")]

    def __str__(self) -> str:
        return f"ETX-{self.pk} {self.kind} {self.status}"


class SandboxOperation(models.Model):
    """The sandbox gateway's own books, as a remote gateway keeps its own."""

    idempotency_key = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10)
    reference = models.CharField(max_length=40, unique=True)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    payment_method = models.CharField(max_length=100, blank=True, default="")
    parent_reference = models.CharField(max_length=40, blank=True, default="")
    status = models.CharField(max_length=10)
    reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
