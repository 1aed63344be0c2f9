from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Schema

from receivables.core import checks
from receivables.core.schemas import REFUSED, AmountOut, Currency
from receivables.documents.selectors import money
from receivables.ledger import selectors

router = Router(tags=["ledger"])


class TrialBalanceRowOut(Schema):
    code: str
    name: str
    debit: AmountOut
    credit: AmountOut


class TrialBalanceOut(Schema):
    currency: Currency
    accounts: list[TrialBalanceRowOut]
    total_debit: AmountOut
    total_credit: AmountOut


@router.get("/ledger/trial-balance", response={200: TrialBalanceOut, **REFUSED})
def get_trial_balance(request: HttpRequest, currency: Currency | None = None) -> dict:
    """In ``currency``, or the base currency (RECEIVABLES_BASE_CURRENCY) when none is given."""
    chosen = currency or settings.RECEIVABLES_BASE_CURRENCY
    rows = selectors.trial_balance(chosen)
    return {
        "currency": chosen,
        "accounts": [
            {"code": r.code, "name": r.name, "debit": money(r.debit, chosen), "credit": money(r.credit, chosen)}
            for r in rows
        ],
        "total_debit": money(sum(r.debit for r in rows), chosen),
        "total_credit": money(sum(r.credit for r in rows), chosen),
    }


class VerifyOut(Schema):
    ok: bool
    checks: dict[str, list[str]]


@router.get("/ledger/verify", response={200: VerifyOut, **REFUSED})
def verify_ledger(request: HttpRequest) -> dict:
    found = checks.verify()
    return {"ok": not any(found.values()), "checks": found}
