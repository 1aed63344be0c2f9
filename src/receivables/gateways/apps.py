from django.apps import AppConfig


class GatewaysConfig(AppConfig):
    name = "receivables.gateways"
    label = "gateways"
