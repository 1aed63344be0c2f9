from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "receivables.customers"
    label = "customers"
