"""Schemathesis hooks for the contract test (loaded through SCHEMATHESIS_HOOKS).

``positive_data_refused_only_for_rules_beyond_the_schema``: a request generated from the schema
(positive data) may be refused with 422 only for a rule the schema cannot state (a customer's
currency decides an amount's decimals, a credit and an invoice must share a customer); a refusal
for anything the schema states (a pattern, a length, a range, an enum) means schema and server
disagree.
"""

from __future__ import annotations

from typing import Any

import schemathesis

from receivables.core.errors import CATALOGUE


@schemathesis.check
def positive_data_refused_only_for_rules_beyond_the_schema(ctx: Any, response: Any, case: Any) -> bool | None:
    meta = case.meta
    if response.status_code != 422 or meta is None or not meta.generation.mode.is_positive:
        return None
    code = response.json().get("error")
    entry = CATALOGUE.get(code)
    if entry is None or not entry.beyond_schema:
        raise AssertionError(f"schema-valid data was refused with {code!r}, a rule the schema states or should state")
    return None
