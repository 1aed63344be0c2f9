"""Pure business rules: standard library and ``receivables.money`` only, no database."""
