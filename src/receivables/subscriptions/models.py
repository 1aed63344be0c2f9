from __future__ import annotations

from django.conf import settings
from django.db import models


class Plan(models.Model):
    """One version of a service plan. Never edited once stored: new terms are a new version."""

    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3)
    version = models.PositiveIntegerField(default=1)
    # The version this one replaced; the old one is then no longer sold.
    previous = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="next_version"
    )
    is_current = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class AfterFullRefund(models.TextChoices):
    PRORATED = "prorated_recurring_fee"
    NO_REFUND = "no_refund"


class PlanPeriod(models.Model):
    """A subscription period of a plan version with its prices and refund policy.

    Fees are prices before tax, like an invoice line's unit price; the refund formula runs on
    what was actually paid (gross). ``non_refundable_minor`` is gross.
    """

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="periods")
    position = models.PositiveSmallIntegerField()
    duration = models.CharField(max_length=20)
    setup_fee_minor = models.BigIntegerField()
    recurring_fee_minor = models.BigIntegerField()
    # Exact decimal text, as on invoice lines: SQLite would store a DecimalField as a float.
    tax_rate = models.CharField(max_length=12, default="0")
    non_refundable_minor = models.BigIntegerField(default=0)
    full_refund_days = models.PositiveIntegerField(default=0)
    after_full_refund_period = models.CharField(max_length=30, choices=AfterFullRefund.choices)

    class Meta:
        ordering = ["plan", "position"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "position"], name="plan_period_position_unique"),
            models.CheckConstraint(
                condition=models.Q(setup_fee_minor__gte=0), name="plan_period_setup_fee_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(recurring_fee_minor__gt=0), name="plan_period_recurring_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(non_refundable_minor__gte=0), name="plan_period_non_refundable_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan} {self.duration}"


class SubscriptionStatus(models.TextChoices):
    # The sales order waits for its payment (declined or unknown card charge).
    PENDING = "pending"
    ACTIVE = "active"
    # A renewal's charge did not succeed: the current period is invoiced but not paid.
    PAST_DUE = "past_due"
    CANCELLED = "cancelled"


class Subscription(models.Model):
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="subscriptions")
    # The terms it was sold on; a later plan version never changes them.
    plan_period = models.ForeignKey(PlanPeriod, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=12, choices=SubscriptionStatus.choices)
    card_token = models.CharField(max_length=100)
    # Period dates count from the anchor, so month-end clamping never drifts.
    anchor = models.DateField()
    period_index = models.PositiveIntegerField(default=0)
    current_period_start = models.DateField()
    # The day the current period ends on, which is the next period's first day.
    current_period_end = models.DateField()
    cancelled_on = models.DateField(null=True, blank=True)
    # The key of the request that made it (from Idempotency-Key): a retry finds it instead of
    # subscribing, and charging, a second time.
    request_key = models.CharField(max_length=100, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["status", "current_period_end", "id"], name="subscription_due"),
        ]

    def __str__(self) -> str:
        return f"subscription {self.pk} ({self.status})"


class OrderKind(models.TextChoices):
    SALES = "sales"
    RENEWAL = "renewal"
    CANCELLATION = "cancellation"


class OrderStatus(models.TextChoices):
    WAITING_FOR_PAYMENT = "waiting_for_payment"
    COMPLETED = "completed"
    # The subscription was cancelled while the order still waited for its payment.
    CANCELLED = "cancelled"


class Order(models.Model):
    """A sales, renewal or cancellation order and the documents it created."""

    number = models.CharField(max_length=20, unique=True)
    kind = models.CharField(max_length=12, choices=OrderKind.choices)
    status = models.CharField(max_length=20, choices=OrderStatus.choices)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="orders")
    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="orders")
    date = models.DateField()
    currency = models.CharField(max_length=3)
    # Sales and renewal orders: the period they pay for, and its gross parts as invoiced.
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    setup_minor = models.BigIntegerField(default=0)
    recurring_minor = models.BigIntegerField(default=0)
    tax_rate = models.CharField(max_length=12, default="0")
    # What the card is charged: the invoice's O/S when placed (an auto-apply credit may have paid part).
    charge_minor = models.BigIntegerField(default=0)
    invoice = models.ForeignKey("documents.Document", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey("documents.Document", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    transaction = models.ForeignKey(
        "gateways.ETransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Cancellation orders: the refund computed, how it was given back, and its documents.
    refund_policy = models.CharField(max_length=12, blank=True, default="")
    give_back = models.CharField(max_length=8, blank=True, default="")
    refund_minor = models.BigIntegerField(default=0)
    quote = models.JSONField(default=dict, blank=True)
    credit_memo = models.ForeignKey(
        "documents.Document", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    refund = models.ForeignKey("documents.Document", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=30, blank=True, default="")
    comment = models.CharField(max_length=500, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # A period is sold or renewed once: a rerun of the bill run finds the order it made.
            models.UniqueConstraint(
                fields=["subscription", "period_start"],
                condition=models.Q(kind__in=["sales", "renewal"]),
                name="order_once_per_period",
            ),
            models.UniqueConstraint(
                fields=["subscription"], condition=models.Q(kind="cancellation"), name="order_one_cancellation"
            ),
        ]

    def __str__(self) -> str:
        return self.number
