"""Read-only pages of the admin centre: bank accounts and the ledger's trial balance and checks."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from receivables.backoffice.views.common import staff_view
from receivables.core.checks import verify
from receivables.customers.selectors import bank_accounts as all_bank_accounts
from receivables.ledger import selectors as ledger


@staff_view()
def bank_accounts(request: HttpRequest) -> HttpResponse:
    accounts = all_bank_accounts().select_related("ledger_account")
    return render(request, "backoffice/admin/bank_accounts.html", {"accounts": accounts})


@staff_view()
def ledger_view(request: HttpRequest) -> HttpResponse:
    balances = [(currency, ledger.trial_balance(currency)) for currency in ledger.ledger_currencies()]
    checks = verify() if request.GET.get("verify") == "1" else None
    return render(request, "backoffice/admin/ledger.html", {"balances": balances, "checks": checks})
