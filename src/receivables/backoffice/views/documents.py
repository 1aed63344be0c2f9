"""Printable invoices, credit notes, refunds and statements, and their PDFs (WeasyPrint)."""

from __future__ import annotations

import threading
from typing import Any

from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from receivables.backoffice.views.accounts import _statement_range
from receivables.backoffice.views.common import staff_view
from receivables.core import audit
from receivables.core.errors import ReceivablesError
from receivables.customers.selectors import get_customer
from receivables.documents import selectors
from receivables.documents.models import Document, DocumentType

PDF_TYPES = {DocumentType.INVOICE, DocumentType.CREDIT_NOTE, DocumentType.DEBIT_MEMO}
TITLES = {
    DocumentType.INVOICE: "Invoice",
    DocumentType.DEBIT_MEMO: "Debit memo",
    DocumentType.PAYMENT: "Payment receipt",
    DocumentType.CREDIT_NOTE: "Credit note",
    DocumentType.REFUND: "Refund",
    DocumentType.WRITE_OFF: "Write-off",
}
# A longer statement is printed range by range (about six pages of paper): rendering takes
# about 13 ms a line, so a PDF stays within a few seconds of one core.
STATEMENT_PDF_LINES = 250
# One PDF at a time per server process: a dozen viewers asking at once queue here (or are told
# to come back) instead of taking every core of the machine.
_RENDERING = threading.BoundedSemaphore(1)
WAIT_FOR_RENDERING_SECONDS = 20


def pdf_response(template: str, context: dict[str, Any], filename: str) -> HttpResponse:
    # Imported here: WeasyPrint loads Pango at import, which only the PDF pages need.
    from weasyprint import CSS, HTML

    html = render_to_string(template, {**context, "for_pdf": True})
    stylesheet = CSS(filename=finders.find("backoffice/print.css"))
    if not _RENDERING.acquire(timeout=WAIT_FOR_RENDERING_SECONDS):
        busy = HttpResponse("Other PDFs are being made; try again in a moment.", status=503, content_type="text/plain")
        busy["Retry-After"] = "10"
        return busy
    try:
        pdf = HTML(string=html).write_pdf(stylesheets=[stylesheet])
    finally:
        _RENDERING.release()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def document_history(document: Document) -> list[dict[str, Any]]:
    """The document's audit trail, oldest first, each change with the fields it touched."""
    return [
        {"entry": entry, "changes": [change for change in audit.changed_fields(entry) if not _blank(change)]}
        for entry in audit.entries_for("document", str(document.pk))
    ]


def _blank(change: tuple[str, Any, Any]) -> bool:
    """A field that was empty and stays empty, such as no failure reason on a new refund."""
    return change[1] in (None, "") and change[2] in (None, "")


def _document_context(document_id: int) -> dict[str, Any]:
    document = selectors.get_document(document_id)
    return {
        "doc": document,
        "customer": document.customer,
        "title": TITLES[DocumentType(document.type)],
        "lines": list(document.lines.all()),
        "allocations": list(selectors.allocations_of(document)),
        "has_pdf": document.type in PDF_TYPES,
        "history": document_history(document),
    }


@staff_view()
def document(request: HttpRequest, document_id: int) -> HttpResponse:
    return render(request, "backoffice/documents/document.html", _document_context(document_id))


@staff_view()
def document_pdf(request: HttpRequest, document_id: int) -> HttpResponse:
    context = _document_context(document_id)
    doc: Document = context["doc"]
    if doc.type not in PDF_TYPES:
        raise Http404("no PDF for this kind of document")
    return pdf_response("backoffice/documents/document.html", context, f"{doc.number}.pdf")


def _statement_context(request: HttpRequest, customer_id: int, page_size: int) -> dict[str, Any]:
    customer = get_customer(customer_id)
    dates, errors = _statement_range(request)
    try:
        statement = selectors.statement(customer, dates["from"], dates["to"], page=1, page_size=page_size)
    except ReceivablesError as error:
        errors["from"] = error.detail
        statement = selectors.statement(customer, page=1, page_size=page_size)
    query = {name: request.GET.get(name, "") for name in ("from", "to")}
    return {"customer": customer, "statement": statement, "errors": errors, "range": query}


@staff_view()
def statement_print(request: HttpRequest, customer_id: int) -> HttpResponse:
    context = _statement_context(request, customer_id, STATEMENT_PDF_LINES)
    return render(request, "backoffice/documents/statement.html", context)


@staff_view()
def statement_pdf(request: HttpRequest, customer_id: int) -> HttpResponse:
    context = _statement_context(request, customer_id, STATEMENT_PDF_LINES)
    return pdf_response("backoffice/documents/statement.html", context, f"statement-{context['customer'].number}.pdf")
