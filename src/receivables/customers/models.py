from __future__ import annotations

from django.db import models


class Customer(models.Model):
    number = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    # Upper-case first letter of the name ("#" for anything else), for the A–Z filter.
    initial = models.CharField(max_length=1, db_index=False)
    email = models.CharField(max_length=254, blank=True, default="")
    currency = models.CharField(max_length=3)
    auto_apply = models.BooleanField(default=False)
    credit_limit_minor = models.BigIntegerField(default=0)
    payment_terms_days = models.PositiveIntegerField(default=30)
    # What the customer owes (negative: the business owes). Kept in step by the document
    # services under a row lock; `ledger verify` recomputes it from the documents.
    balance_minor = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["initial", "name", "id"], name="customer_initial_name"),
            models.Index(fields=["name", "id"], name="customer_name"),
            models.Index(fields=["email"], name="customer_email"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class BankAccount(models.Model):
    name = models.CharField(max_length=100)
    currency = models.CharField(max_length=3)
    is_default = models.BooleanField(default=False)
    ledger_account = models.OneToOneField("ledger.Account", on_delete=models.PROTECT, related_name="bank_account")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["currency", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["currency"], condition=models.Q(is_default=True), name="one_default_bank_account_per_currency"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"
