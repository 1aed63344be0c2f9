from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "receivables.ledger"
    label = "ledger"
