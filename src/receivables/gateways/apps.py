from django.apps import AppConfig


class GatewaysConfig(AppConfig):
    name = "receivables.gateways"
    label = "gateways"

    def ready(self) -> None:
        from receivables.gateways.checks import refunds_within_charges
        from receivables.ledger.selectors import register_check

        register_check("refunds against a charge never exceed it", refunds_within_charges)
