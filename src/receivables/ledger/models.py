from __future__ import annotations

from django.db import models


class Account(models.Model):
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class JournalEntry(models.Model):
    date = models.DateField()
    memo = models.CharField(max_length=200)
    currency = models.CharField(max_length=3)
    document = models.ForeignKey(
        "documents.Document", null=True, blank=True, on_delete=models.PROTECT, related_name="journal_entries"
    )
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "journal entries"

    def __str__(self) -> str:
        return f"JE{self.pk} {self.memo}"


class Posting(models.Model):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings")
    currency = models.CharField(max_length=3)
    debit_minor = models.BigIntegerField(default=0)
    credit_minor = models.BigIntegerField(default=0)

    class Meta:
        # Covering: the trial balance and the receivable check sum an account's postings from the
        # index alone, without visiting millions of table rows.
        indexes = [
            models.Index(fields=["account", "currency", "debit_minor", "credit_minor"], name="posting_account_totals")
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(debit_minor__gte=0, credit_minor__gte=0),
                name="posting_sides_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(debit_minor=0) | models.Q(credit_minor=0),
                name="posting_one_side_only",
            ),
        ]
