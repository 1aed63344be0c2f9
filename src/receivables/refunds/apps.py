from django.apps import AppConfig


class RefundsConfig(AppConfig):
    name = "receivables.refunds"
    label = "refunds"

    def ready(self) -> None:
        from receivables.core.checks import register_check
        from receivables.gateways import reconcile
        from receivables.gateways.models import TransactionKind
        from receivables.refunds.checks import refunds_were_paid
        from receivables.refunds.services import settle_refund

        # The gateways area settles an unknown refund call through the refunds area, never importing it.
        reconcile.settles(TransactionKind.REFUND, settle_refund)
        register_check("every refund marked refunded was paid by transfer or by the gateway", refunds_were_paid)
