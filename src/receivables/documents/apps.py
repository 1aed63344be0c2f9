from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "receivables.documents"
    label = "documents"

    def ready(self) -> None:
        from receivables.documents.checks import audit_has_no_gaps
        from receivables.ledger.selectors import register_check

        register_check("the audit trail has no gaps", audit_has_no_gaps)
