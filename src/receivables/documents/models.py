from __future__ import annotations

from django.conf import settings
from django.db import models


class DocumentType(models.TextChoices):
    INVOICE = "invoice"
    DEBIT_MEMO = "debit_memo"
    PAYMENT = "payment"
    CREDIT_NOTE = "credit_note"
    REFUND = "refund"
    WRITE_OFF = "write_off"


# Raising documents add to what the customer owes; lowering documents take from it.
RAISING = frozenset({DocumentType.INVOICE, DocumentType.DEBIT_MEMO, DocumentType.REFUND})
CREDITS = frozenset({DocumentType.PAYMENT, DocumentType.CREDIT_NOTE, DocumentType.WRITE_OFF})
# A write-off lowers what is owed but is no money the customer gave: it is never refunded.
REFUNDABLE = CREDITS - {DocumentType.WRITE_OFF}
ALLOCATION_TARGETS = frozenset({DocumentType.INVOICE, DocumentType.DEBIT_MEMO, DocumentType.REFUND})


class Status(models.TextChoices):
    OPEN = "open"
    CLOSED = "closed"
    HOLD = "hold"
    CANCELLED = "cancelled"
    # A refund's own lifecycle after hold.
    PROCESSING = "processing"
    REFUNDED = "refunded"
    FAILED = "failed"


class PaymentMethod(models.TextChoices):
    CARD = "card"
    BANK_TRANSFER = "bank_transfer"
    CASH = "cash"
    CHEQUE = "cheque"
    DIRECT_DEBIT = "direct_debit"


class Document(models.Model):
    type = models.CharField(max_length=12, choices=DocumentType.choices)
    number = models.CharField(max_length=20, unique=True)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="documents")
    date = models.DateField()
    currency = models.CharField(max_length=3)
    net_minor = models.BigIntegerField(default=0)
    tax_minor = models.BigIntegerField(default=0)
    total_minor = models.BigIntegerField()
    outstanding_minor = models.BigIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices)
    reason = models.CharField(max_length=40, blank=True, default="")
    description = models.CharField(max_length=200, blank=True, default="")
    method = models.CharField(max_length=20, choices=PaymentMethod.choices, blank=True, default="")
    due_date = models.DateField(null=True, blank=True)
    bank_account = models.ForeignKey(
        "customers.BankAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="documents"
    )
    # A credit note may name the invoice it corrects; a refund names the credit it draws on.
    invoice = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes")
    source = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds")
    previous_transaction = models.ForeignKey(
        "gateways.ETransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="refund_documents"
    )
    failure_reason = models.CharField(max_length=200, blank=True, default="")
    # A refund created without a card transaction that must be given one before it is paid
    # (a cancellation's refund); a bank refund without one is paid by transfer instead.
    standalone = models.BooleanField(default=False)
    processed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date", "id"]
        indexes = [
            models.Index(fields=["customer", "date", "id"], name="document_customer_date"),
            # Covering for one customer's ageing and open items: a busy account sums from the index alone.
            models.Index(
                fields=["customer", "status", "type", "currency", "due_date", "outstanding_minor"],
                name="document_customer_open",
            ),
            # Covering for the book's aged receivables and unapplied credits: read from the index alone.
            models.Index(
                fields=["type", "status", "currency", "due_date", "outstanding_minor"], name="document_type_status_due"
            ),
            # Bank matching: which open invoices owe exactly a line's amount, without reading them all.
            models.Index(
                fields=["currency", "outstanding_minor"],
                condition=models.Q(status="open", type__in=["invoice", "debit_memo"]),
                name="document_open_amount",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(total_minor__gt=0), name="document_total_positive"),
            models.CheckConstraint(
                condition=models.Q(outstanding_minor__gte=0, outstanding_minor__lte=models.F("total_minor")),
                name="document_outstanding_within_total",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_raising(self) -> bool:
        return self.type in RAISING


class DocumentLine(models.Model):
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=200)
    # Exact decimal text: SQLite would store a DecimalField as a float.
    quantity = models.CharField(max_length=24)
    unit_price = models.CharField(max_length=24)
    tax_rate = models.CharField(max_length=12)
    net_minor = models.BigIntegerField()
    tax_minor = models.BigIntegerField()

    class Meta:
        ordering = ["document", "position"]
        constraints = [models.UniqueConstraint(fields=["document", "position"], name="line_position_unique")]


class Allocation(models.Model):
    """Applies a credit (payment, credit note) to a debit (invoice, debit memo, refund).

    A reversal is another row with the negated amount that names the row it undoes.
    """

    source = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="allocations_out")
    target = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="allocations_in")
    amount_minor = models.BigIntegerField()
    # The business day the application took effect (a reversal: the day it was undone); ageing
    # as of a past date counts only the allocations dated up to it.
    date = models.DateField()
    reversal_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount_minor=0), name="allocation_not_zero"),
            models.CheckConstraint(
                condition=models.Q(amount_minor__gt=0, reversal_of__isnull=True)
                | models.Q(amount_minor__lt=0, reversal_of__isnull=False),
                name="allocation_reversal_negative",
            ),
        ]
