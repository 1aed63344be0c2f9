"""Cross-cutting pieces: errors, gapless numbering, API tokens, idempotency records."""
