from __future__ import annotations

from typing import Annotated, BinaryIO, cast

from django.conf import settings
from django.http import HttpRequest
from ninja import File, Form, Query, Router, Schema, Status, UploadedFile
from pydantic import Field

from receivables.banking import decisions, formats, importing, selectors, write_offs
from receivables.banking.formats.base import FileRefused
from receivables.banking.models import BankLine, BankStatement, LineStatus
from receivables.core.schemas import (
    REFUSED,
    Amount,
    AmountOut,
    ClosedSet,
    Currency,
    DateOut,
    Id,
    PathId,
    StrictIn,
    text,
)
from receivables.customers.selectors import get_bank_account
from receivables.documents.api import DocumentOut, StatusChoice, document_out
from receivables.documents.models import Document
from receivables.documents.selectors import money

router = Router(tags=["banking"])
LineStatusChoice = Annotated[str, ClosedSet("BankLineStatus", LineStatus.values)]
# "auto": the format is detected from the file.
FormatChoice = Annotated[str, ClosedSet("BankFileFormat", ("auto", *formats.FORMATS))]
Reason = Annotated[str, text(200)]
ColumnName = Annotated[str, text(100)]


class ImportOut(Schema):
    id: int
    lines: int
    matched: int
    suggested: int
    unmatched: int
    skipped: int


@router.post("/bank-statements", response={201: ImportOut, **REFUSED})
def import_bank_statement(
    request: HttpRequest,
    file: UploadedFile = File(...),
    bank_account: PathId = Form(...),  # a form field is text: the id's digits
    format: FormatChoice = Form("auto"),
) -> Status:
    if (file.size or 0) > settings.BANK_STATEMENT_MAX_BYTES:
        raise FileRefused("file_too_large", f"the file is larger than {settings.BANK_STATEMENT_MAX_BYTES} bytes")
    result = importing.import_statement(
        cast(BinaryIO, file),
        bank_account,
        format=None if format == "auto" else format,
        file_name=file.name or "",
        user=request.user,
    )
    return Status(201, import_out(result))


def import_out(result: importing.ImportResult) -> dict:
    return {
        "id": result.statement.pk,
        "lines": result.imported,
        "matched": result.matched,
        "suggested": result.suggested,
        "unmatched": result.unmatched,
        "skipped": result.skipped,
    }


class BankStatementOut(Schema):
    id: int
    bank_account: int
    format: FormatChoice
    file_name: str
    currency: Currency
    opening_balance: AmountOut | None
    closing_balance: AmountOut | None
    first_date: DateOut | None
    last_date: DateOut | None
    skipped: int
    matched: int
    suggested: int
    unmatched: int
    ignored: int


class BankStatementList(Schema):
    items: list[BankStatementOut]


def statement_out(statement: BankStatement) -> dict:
    currency = statement.currency
    return {
        "id": statement.pk,
        "bank_account": statement.bank_account_id,
        "format": statement.format,
        "file_name": statement.file_name,
        "currency": currency,
        "opening_balance": money(statement.opening_minor, currency),
        "closing_balance": money(statement.closing_minor, currency),
        "first_date": statement.first_date.isoformat() if statement.first_date else None,
        "last_date": statement.last_date.isoformat() if statement.last_date else None,
        "skipped": statement.skipped,
        **{status: getattr(statement, status, 0) for status in LineStatus.values},
    }


@router.get("/bank-statements", response={200: BankStatementList, **REFUSED})
def list_bank_statements(request: HttpRequest, limit: int = Query(50, ge=1, le=500)) -> dict:
    return {"items": [statement_out(s) for s in selectors.statements()[:limit]]}


@router.get("/bank-statements/{statement_id}", response={200: BankStatementOut, **REFUSED})
def get_bank_statement(request: HttpRequest, statement_id: PathId) -> dict:
    return statement_out(selectors.get_statement(statement_id))


class SuggestedAllocationOut(Schema):
    target: int
    number: str
    amount: AmountOut


class SuggestionOut(Schema):
    customer: int
    customer_number: str
    customer_name: str
    score: int
    explanation: str
    reasons: list[str]
    allocations: list[SuggestedAllocationOut]
    on_account: AmountOut
    write_off: AmountOut


class BankLineOut(Schema):
    id: int
    statement: int
    date: DateOut
    value_date: DateOut | None
    direction: str
    amount: AmountOut
    currency: Currency
    reference: str
    counterparty: str
    iban: str
    bank_reference: str
    status: LineStatusChoice
    ignore_reason: str
    payment: int | None
    payments: list[int]
    write_off: int | None
    suggestions: list[SuggestionOut]


class BankLineList(Schema):
    items: list[BankLineOut]


def line_out(line: BankLine, payments: list[Document]) -> dict:
    return {
        "id": line.pk,
        "statement": line.statement_id,
        "date": line.booking_date.isoformat(),
        "value_date": line.value_date.isoformat() if line.value_date else None,
        "direction": line.direction,
        "amount": money(line.amount_minor, line.currency),
        "currency": line.currency,
        "reference": line.reference,
        "counterparty": line.counterparty,
        "iban": line.iban,
        "bank_reference": line.bank_reference,
        "status": line.status,
        "ignore_reason": line.ignore_reason,
        "payment": payments[0].pk if payments else None,
        "payments": [payment.pk for payment in payments],
        "write_off": line.write_off_id,
        "suggestions": line.suggestions,
    }


def _one_line_out(line: BankLine) -> dict:
    return line_out(line, selectors.live_payments([line.pk])[line.pk])


@router.get("/bank-statements/{statement_id}/lines", response={200: BankLineList, **REFUSED})
def list_bank_lines(
    request: HttpRequest,
    statement_id: PathId,
    status: LineStatusChoice | None = None,
    limit: int = Query(1000, ge=1, le=10000),
    offset: int = Query(0, ge=0, le=10**7),
) -> dict:
    statement = selectors.get_statement(statement_id)
    lines = list(selectors.statement_lines(statement, status or None)[offset : offset + limit])
    payments = selectors.live_payments([line.pk for line in lines])
    return {"items": [line_out(line, payments[line.pk]) for line in lines]}


@router.get("/bank-lines/{line_id}", response={200: BankLineOut, **REFUSED})
def get_bank_line(request: HttpRequest, line_id: PathId) -> dict:
    return _one_line_out(selectors.get_line(line_id))


class PickIn(StrictIn):
    target: Id
    amount: Amount


class WriteOffPickIn(StrictIn):
    amount: Amount
    reason: Reason


class MatchIn(StrictIn):
    allocations: list[PickIn] = Field(default_factory=list, max_length=200)
    customer: Id | None = None
    write_off: WriteOffPickIn | None = None


@router.post("/bank-lines/{line_id}/match", response={200: BankLineOut, **REFUSED})
def match_bank_line(request: HttpRequest, line_id: PathId, body: MatchIn) -> dict:
    picks = [decisions.Pick(pick.target, pick.amount) for pick in body.allocations]
    write_off = decisions.WriteOffPick(body.write_off.amount, body.write_off.reason) if body.write_off else None
    line = decisions.match_line(line_id, picks, customer=body.customer, write_off=write_off, user=request.user)
    return _one_line_out(line)


class IgnoreIn(StrictIn):
    reason: Reason


@router.post("/bank-lines/{line_id}/ignore", response={200: BankLineOut, **REFUSED})
def ignore_bank_line(request: HttpRequest, line_id: PathId, body: IgnoreIn) -> dict:
    return _one_line_out(decisions.ignore_line(line_id, body.reason, user=request.user))


@router.post("/bank-lines/{line_id}/unmatch", response={200: BankLineOut, **REFUSED})
def unmatch_bank_line(request: HttpRequest, line_id: PathId) -> dict:
    return _one_line_out(decisions.unmatch_line(line_id, user=request.user))


class WriteOffIn(StrictIn):
    target: Id
    amount: Amount
    reason: Reason


class WriteOffList(Schema):
    items: list[DocumentOut]


@router.post("/write-offs", response={201: DocumentOut, **REFUSED})
def create_write_off(request: HttpRequest, body: WriteOffIn) -> Status:
    document = write_offs.create_write_off(body.target, body.amount, body.reason, user=request.user)
    return Status(201, document_out(document))


@router.get("/write-offs", response={200: WriteOffList, **REFUSED})
def list_write_offs(
    request: HttpRequest, status: StatusChoice | None = None, limit: int = Query(100, ge=1, le=1000)
) -> dict:
    return {"items": [document_out(d, with_lines=False) for d in selectors.write_offs(status or None)[:limit]]}


class WriteOffDecisionIn(StrictIn):
    comment: Annotated[str, text(500, required=False)] = ""


@router.post("/write-offs/{write_off_id}/approve", response={200: DocumentOut, **REFUSED})
def approve_write_off(request: HttpRequest, write_off_id: PathId, body: WriteOffDecisionIn) -> dict:
    return document_out(write_offs.approve_write_off(write_off_id, user=request.user, comment=body.comment))


@router.post("/write-offs/{write_off_id}/reject", response={200: DocumentOut, **REFUSED})
def reject_write_off(request: HttpRequest, write_off_id: PathId, body: WriteOffDecisionIn) -> dict:
    return document_out(write_offs.reject_write_off(write_off_id, user=request.user, comment=body.comment))


class CsvColumnsIn(StrictIn):
    """The header of each column in the bank's CSV file, and how to read it."""

    date: ColumnName
    amount: ColumnName | None = None
    credit: ColumnName | None = None
    debit: ColumnName | None = None
    reference: ColumnName | None = None
    counterparty: ColumnName | None = None
    iban: ColumnName | None = None
    id: ColumnName | None = None
    date_format: Annotated[str, text(40)] | None = None
    decimal: Annotated[str, ClosedSet("DecimalMark", (".", ","))] | None = None
    delimiter: Annotated[str, text(1)] | None = None


class MappingIn(StrictIn):
    mapping: CsvColumnsIn


class MappingOut(Schema):
    bank_account: int
    mapping: dict[str, str]


@router.post("/bank-accounts/{bank_account_id}/csv-mapping", response={200: MappingOut, **REFUSED})
def save_csv_mapping(request: HttpRequest, bank_account_id: PathId, body: MappingIn) -> dict:
    saved = importing.save_csv_mapping(bank_account_id, body.mapping.model_dump(exclude_none=True), user=request.user)
    return {"bank_account": bank_account_id, "mapping": saved}


@router.get("/bank-accounts/{bank_account_id}/csv-mapping", response={200: MappingOut, **REFUSED})
def get_csv_mapping(request: HttpRequest, bank_account_id: PathId) -> dict:
    bank = get_bank_account(bank_account_id, "bank_account")
    return {"bank_account": bank.pk, "mapping": selectors.csv_mapping(bank)}
