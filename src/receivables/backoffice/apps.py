from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "receivables.backoffice"
    label = "backoffice"
