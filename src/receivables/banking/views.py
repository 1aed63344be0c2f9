"""Bank reconciliation screens: import a statement, then decide its lines one by one.

A line's panel (suggestions to accept, invoices to search and pick, ignore, unmatch) loads into
the statement page with htmx, and is also a page of its own, so everything works without script.
Every decision is a plain form POST to a service; a refusal comes back beside the form.
"""

from __future__ import annotations

from typing import BinaryIO, cast

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse

from receivables.backoffice.templatetags.money import format_money
from receivables.backoffice.views.common import form_errors, page_number, staff_view, window
from receivables.banking import decisions, importing, selectors, write_offs
from receivables.banking.formats.base import FORMATS, FileRefused
from receivables.banking.models import BankLine, LineStatus
from receivables.core import inputs, permissions
from receivables.core.errors import ReceivablesError
from receivables.customers.models import Customer
from receivables.customers.selectors import bank_accounts

IMPORT_FIELDS = ("file", "bank_account", "format")
MATCH_FIELDS = ("pick", "customer", "write_off.amount", "write_off.reason", "write_off")
LINES_PER_PAGE = 100


@staff_view(permissions.WRITE)
def statements(request: HttpRequest) -> HttpResponse:
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            result = _import(request)
            messages.success(
                request,
                f"Imported {result.imported} lines: {result.matched} matched, {result.suggested} suggested, "
                f"{result.unmatched} unmatched; {result.skipped} skipped (imported before).",
            )
            return redirect("banking:statement", result.statement.pk)
        except ReceivablesError as error:
            errors = form_errors(error, IMPORT_FIELDS)
    context = {
        "statements": selectors.statements()[:100],
        "banks": bank_accounts(),
        "formats": FORMATS,
        "errors": errors,
        "values": request.POST,
    }
    return render(request, "banking/statements.html", context)


def _import(request: HttpRequest) -> importing.ImportResult:
    upload = request.FILES.get("file")
    if upload is None:
        raise ReceivablesError("required", "choose a statement file", "file")
    if (upload.size or 0) > settings.BANK_STATEMENT_MAX_BYTES:
        raise FileRefused("file_too_large", f"the file is larger than {settings.BANK_STATEMENT_MAX_BYTES} bytes")
    if not request.POST.get("bank_account"):
        raise ReceivablesError("required", "choose the bank account", "bank_account")
    return importing.import_statement(
        cast(BinaryIO, upload),
        request.POST["bank_account"],
        format=request.POST.get("format") or None,
        file_name=upload.name or "",
        user=request.user,
    )


@staff_view(permissions.WRITE)
def statement(request: HttpRequest, statement_id: int) -> HttpResponse:
    found = selectors.get_statement(statement_id)
    status = request.GET.get("status", "")
    if status not in LineStatus.values:
        status = ""
    page = window(selectors.statement_lines(found, status or None), page_number(request), LINES_PER_PAGE)
    context = {"statement": found, "page": page, "status": status, "statuses": LineStatus.values}
    return render(request, "banking/statement.html", context)


def _panel(request: HttpRequest, line: BankLine, errors: dict[str, str], status: int = 200) -> HttpResponse:
    payments = selectors.live_payments([line.pk])[line.pk]
    # Without script the search box is a GET form: its results come back as unticked picks.
    query = request.GET.get("q", "")[:100].strip()
    context = {
        "query": query,
        "found": list(selectors.open_invoices(line.currency, query)) if query else [],
        "line": line,
        "payments": payments,
        # Templates cannot look up dotted keys: "write_off.amount" is shown as write_off_amount.
        "errors": {field.replace(".", "_"): detail for field, detail in errors.items()},
        "values": request.POST if request.method == "POST" else {},
        "tolerance": settings.WRITE_OFF_TOLERANCE,
    }
    # htmx loads the panel into the statement page; a plain request gets the panel as a page.
    template = "banking/_line_panel.html" if request.headers.get("HX-Request") == "true" else "banking/line.html"
    return render(request, template, context, status=status)


@staff_view(permissions.WRITE)
def line(request: HttpRequest, line_id: int) -> HttpResponse:
    return _panel(request, selectors.get_line(line_id), {})


@staff_view(permissions.WRITE)
def search(request: HttpRequest, line_id: int) -> HttpResponse:
    """Open invoices for the search box (htmx): each with a button that adds it to the line's picks."""
    found = selectors.get_line(line_id)
    invoices = selectors.open_invoices(found.currency, request.GET.get("q", "")[:100])
    return render(request, "banking/_search.html", {"line": found, "invoices": invoices})


@staff_view(permissions.WRITE)
def pick(request: HttpRequest, line_id: int, document_id: int) -> HttpResponse:
    """One invoice as a row of the line's picks, ticked, its whole O/S proposed."""
    found = selectors.get_line(line_id)
    invoice = selectors.open_invoice(found.currency, document_id)
    return render(request, "banking/_pick.html", {"line": found, "doc": invoice, "picked": True})


def _picks(post: QueryDict) -> list[decisions.Pick]:
    chosen = list(dict.fromkeys(post.getlist("pick")))
    return [decisions.Pick(target, post.get(f"amount_{target}", "")) for target in chosen]


def _rest_customer(post: QueryDict) -> object:
    number = post.get("customer_number", "").strip()
    if number:
        found = Customer.objects.filter(number__iexact=number).values_list("pk", flat=True).first()
        if found is None:
            raise ReceivablesError("customer_not_found", f"no customer numbered {number}", "customer")
        return found
    return post.get("customer") or None


def _write_off_pick(post: QueryDict) -> decisions.WriteOffPick | None:
    amount = post.get("write_off_amount", "").strip()
    return decisions.WriteOffPick(amount, post.get("write_off_reason", "")) if amount else None


def _decided(request: HttpRequest, line: BankLine, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect(f"{_statement_url(line)}#line-{line.pk}")


def _statement_url(line: BankLine) -> str:
    return reverse("banking:statement", args=[line.statement_id])


@staff_view(permissions.WRITE)
def match(request: HttpRequest, line_id: int) -> HttpResponse:
    found = selectors.get_line(line_id)
    if request.method != "POST":
        return redirect("banking:line", found.pk)
    try:
        decisions.match_line(
            found.pk,
            _picks(request.POST),
            customer=_rest_customer(request.POST),
            write_off=_write_off_pick(request.POST),
            user=request.user,
        )
    except ReceivablesError as error:
        return _panel(request, found, form_errors(error, MATCH_FIELDS))
    amount = format_money(found.amount_minor, found.currency)
    return _decided(request, found, f"Line of {amount} from {found.counterparty or 'unknown payer'} matched.")


@staff_view(permissions.WRITE)
def ignore(request: HttpRequest, line_id: int) -> HttpResponse:
    found = selectors.get_line(line_id)
    if request.method != "POST":
        return redirect("banking:line", found.pk)
    try:
        decisions.ignore_line(found.pk, request.POST.get("reason", ""), user=request.user)
    except ReceivablesError as error:
        return _panel(request, found, form_errors(error, ("reason",)))
    return _decided(request, found, "Line ignored.")


@staff_view(permissions.WRITE)
def unmatch(request: HttpRequest, line_id: int) -> HttpResponse:
    found = selectors.get_line(line_id)
    if request.method != "POST":
        return redirect("banking:line", found.pk)
    try:
        decisions.unmatch_line(found.pk, user=request.user)
    except ReceivablesError as error:
        return _panel(request, found, form_errors(error, ()))
    return _decided(request, found, "Line unmatched: its payments and allocations are reversed.")


@staff_view(permissions.APPROVE)
def held_write_offs(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            _decide_write_off(request)
        except ReceivablesError as error:
            messages.error(request, str(error))
        return redirect("banking:write_offs")
    context = {"write_offs": selectors.write_offs("hold")[:200]}
    return render(request, "banking/write_offs.html", context)


def _decide_write_off(request: HttpRequest) -> None:
    ident = inputs.identifier(request.POST.get("write_off", ""), "write_off")
    comment = request.POST.get("comment", "")
    if request.POST.get("decision") == "approve":
        done = write_offs.approve_write_off(ident, user=request.user, comment=comment)
        messages.success(request, f"Write-off {done.number} approved and applied.")
    else:
        done = write_offs.reject_write_off(ident, user=request.user, comment=comment)
        messages.success(request, f"Write-off {done.number} rejected.")
