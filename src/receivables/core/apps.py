from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "receivables.core"
    label = "core"
