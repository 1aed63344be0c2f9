from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "receivables.documents"
    label = "documents"

    def ready(self) -> None:
        from receivables.core.checks import register_check
        from receivables.documents import checks

        register_check("accounts receivable equals the sum of customer balances", checks.receivable_matches_customers)
        register_check("every statement ends at the customer's balance", checks.balances_match_documents)
        register_check(
            "every document has 0 ≤ O/S ≤ total and O/S = total − allocations", checks.outstanding_matches_allocations
        )
        register_check("document numbers are unique and gapless per series", checks.numbering_is_gapless)
        register_check("the audit trail has no gaps", checks.audit_has_no_gaps)
