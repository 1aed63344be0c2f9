from django.apps import AppConfig


class RefundsConfig(AppConfig):
    name = "receivables.refunds"
    label = "refunds"
