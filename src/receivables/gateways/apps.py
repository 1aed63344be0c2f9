from django.apps import AppConfig


class GatewaysConfig(AppConfig):
    name = "receivables.gateways"
    label = "gateways"

    def ready(self) -> None:
        from receivables.core.checks import register_check
        from receivables.gateways.checks import refunds_within_charges

        register_check("refunds against a charge never exceed it", refunds_within_charges)
