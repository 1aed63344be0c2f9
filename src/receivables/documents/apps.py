from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "receivables.documents"
    label = "documents"
