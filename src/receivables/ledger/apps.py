from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class LedgerConfig(AppConfig):
    name = "receivables.ledger"
    label = "ledger"

    def ready(self) -> None:
        from receivables.core.checks import register_check
        from receivables.ledger.selectors import unbalanced_entries
        from receivables.ledger.services import ensure_chart

        def chart_after_migrate(**kwargs: Any) -> None:
            # The chart exists whenever the tables do, also after ``flush`` (which re-emits this signal).
            ensure_chart(using=kwargs.get("using", "default"))

        register_check("every journal entry balances", unbalanced_entries)
        post_migrate.connect(chart_after_migrate, sender=self, weak=False)
