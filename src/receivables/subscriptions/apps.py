from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "receivables.subscriptions"
    label = "subscriptions"

    def ready(self) -> None:
        from receivables.core.checks import register_check
        from receivables.subscriptions import checks

        register_check("every active subscription's current period is paid", checks.active_periods_are_paid)
        register_check("a cancelled subscription stays cancelled and unpaid after", checks.cancelled_stay_cancelled)
        register_check("order numbers are unique and gapless", checks.order_numbers_are_gapless)
