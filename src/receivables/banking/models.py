from __future__ import annotations

from django.conf import settings
from django.db import models

from receivables.refunds.models import Decision


class LineStatus(models.TextChoices):
    MATCHED = "matched"
    SUGGESTED = "suggested"
    UNMATCHED = "unmatched"
    IGNORED = "ignored"


class Direction(models.TextChoices):
    CREDIT = "credit"
    DEBIT = "debit"


class BankStatement(models.Model):
    """One imported file for one of the business's bank accounts."""

    bank_account = models.ForeignKey("customers.BankAccount", on_delete=models.PROTECT, related_name="statements")
    format = models.CharField(max_length=10)
    file_name = models.CharField(max_length=200, blank=True, default="")
    statement_id = models.CharField(max_length=100, blank=True, default="")
    currency = models.CharField(max_length=3)
    opening_minor = models.BigIntegerField(null=True, blank=True)
    closing_minor = models.BigIntegerField(null=True, blank=True)
    first_date = models.DateField(null=True, blank=True)
    last_date = models.DateField(null=True, blank=True)
    # Lines the file held that an earlier import already had (the same file again, or an overlap).
    skipped = models.PositiveIntegerField(default=0)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"statement {self.pk} ({self.format})"


class BankLine(models.Model):
    """One movement on a statement. Credits are matched to invoices; debits are listed and ignored."""

    statement = models.ForeignKey(BankStatement, on_delete=models.PROTECT, related_name="lines")
    bank_account = models.ForeignKey("customers.BankAccount", on_delete=models.PROTECT, related_name="+")
    # The bank's reference for the entry, else a hash of account, date, amount, reference and the
    # entry's position among identical ones: the same movement in two files has the same identity.
    identity = models.CharField(max_length=120)
    position = models.PositiveIntegerField()
    booking_date = models.DateField()
    value_date = models.DateField(null=True, blank=True)
    direction = models.CharField(max_length=6, choices=Direction.choices)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=500, blank=True, default="")
    counterparty = models.CharField(max_length=200, blank=True, default="")
    iban = models.CharField(max_length=34, blank=True, default="")
    bank_reference = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(max_length=10, choices=LineStatus.choices, default=LineStatus.UNMATCHED)
    ignore_reason = models.CharField(max_length=200, blank=True, default="")
    # Ranked suggestions as the rules made them: [{customer, score, explanation, allocations, ...}].
    suggestions = models.JSONField(default=list, blank=True)
    # The write-off of a short payment made with the match, reversed with it.
    write_off = models.ForeignKey(
        "documents.Document", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["statement", "position"]
        indexes = [
            models.Index(fields=["statement", "status", "position"], name="bank_line_statement_status"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["bank_account", "identity"], name="bank_line_once_per_account"),
            models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="bank_line_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"line {self.pk}"


class LinePayment(models.Model):
    """A payment a matched line became (one per customer it pays); ``undone_at`` once unmatched."""

    line = models.ForeignKey(BankLine, on_delete=models.PROTECT, related_name="payments")
    payment = models.OneToOneField("documents.Document", on_delete=models.PROTECT, related_name="bank_line_payment")
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["line", "undone_at"], name="line_payment_live")]


class PayerAccount(models.Model):
    """An IBAN a customer has paid from: a later line from it points at that customer."""

    iban = models.CharField(max_length=34)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="payer_accounts")
    first_line = models.ForeignKey(BankLine, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["iban", "customer"], name="payer_account_once")]


class CsvMapping(models.Model):
    """Which CSV column holds what, saved per bank account (see banking.formats.csvfile)."""

    bank_account = models.OneToOneField("customers.BankAccount", on_delete=models.PROTECT, related_name="csv_mapping")
    columns = models.JSONField()


class WriteOffDecision(models.Model):
    """A second person's approval or rejection of a write-off above the threshold (maker–checker)."""

    write_off = models.ForeignKey("documents.Document", on_delete=models.PROTECT, related_name="write_off_decisions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    comment = models.CharField(max_length=500, blank=True, default="")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
