from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja import Query, Router, Schema

from receivables.core import checks, inputs
from receivables.core.schemas import ERRORS
from receivables.documents.selectors import money
from receivables.ledger import selectors

router = Router(tags=["ledger"])


class TrialBalanceRowOut(Schema):
    code: str
    name: str
    debit: str
    credit: str


class TrialBalanceOut(Schema):
    currency: str
    accounts: list[TrialBalanceRowOut]
    total_debit: str
    total_credit: str


@router.get("/ledger/trial-balance", response={200: TrialBalanceOut, **ERRORS})
def trial_balance(request: HttpRequest, currency: str = Query("", max_length=3)) -> dict:
    chosen = inputs.currency(currency or settings.RECEIVABLES_BASE_CURRENCY)
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


@router.get("/ledger/verify", response={200: VerifyOut, **ERRORS})
def verify(request: HttpRequest) -> dict:
    found = checks.verify()
    return {"ok": not any(found.values()), "checks": found}
