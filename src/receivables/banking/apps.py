from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class BankingConfig(AppConfig):
    name = "receivables.banking"
    label = "banking"

    def ready(self) -> None:
        from receivables.banking.checks import bank_movement_matches_lines, lines_match_payments
        from receivables.core.checks import register_check
        from receivables.rules.approval import ThresholdError, parse_thresholds

        for name in ("WRITE_OFF_TOLERANCE", "WRITE_OFF_APPROVAL_THRESHOLD"):
            try:
                parse_thresholds(getattr(settings, name))
            except ThresholdError as error:
                raise ImproperlyConfigured(f"{name}: {error}") from None
        register_check("every matched bank line equals its payments", lines_match_payments)
        register_check(
            "each bank account's ledger movement from matched lines equals those lines", bank_movement_matches_lines
        )
