from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "receivables.subscriptions"
    label = "subscriptions"

    def ready(self) -> None:
        from receivables.ledger.selectors import register_check
        from receivables.subscriptions.selectors import active_periods_are_paid

        register_check("every active subscription's current period is paid", active_periods_are_paid)
