from __future__ import annotations

from typing import BinaryIO, cast

from django.conf import settings
from django.http import HttpRequest
from ninja import File, Form, Query, Router, Schema, Status, UploadedFile
from pydantic import Field

from receivables.banking import decisions, importing, selectors, write_offs
from receivables.banking.formats.base import FileRefused
from receivables.banking.models import BankLine, BankStatement, LineStatus
from receivables.core import inputs
from receivables.core.schemas import ERRORS, Amount, ErrorOut, Id, StrictIn
from receivables.customers.selectors import get_bank_account
from receivables.documents.api import DocumentOut, document_out
from receivables.documents.models import Document
from receivables.documents.models import Status as DocumentStatus
from receivables.documents.selectors import money

router = Router(tags=["banking"])
UPLOAD_ERRORS = {**ERRORS, 413: ErrorOut}


class ImportOut(Schema):
    id: int
    lines: int
    matched: int
    suggested: int
    unmatched: int
    skipped: int


@router.post("/bank-statements", response={201: ImportOut, **UPLOAD_ERRORS})
def import_statement(
    request: HttpRequest,
    file: UploadedFile = File(...),
    bank_account: int = Form(...),
    format: str | None = Form(None, max_length=10),
) -> Status:
    if (file.size or 0) > settings.BANK_STATEMENT_MAX_BYTES:
        raise FileRefused("file_too_large", f"the file is larger than {settings.BANK_STATEMENT_MAX_BYTES} bytes")
    result = importing.import_statement(
        cast(BinaryIO, file), bank_account, format=format or None, file_name=file.name or "", user=request.user
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


class StatementOut(Schema):
    id: int
    bank_account: int
    format: str
    file_name: str
    currency: str
    opening_balance: str | None
    closing_balance: str | None
    first_date: str | None
    last_date: str | None
    skipped: int
    matched: int
    suggested: int
    unmatched: int
    ignored: int


class StatementList(Schema):
    items: list[StatementOut]


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


@router.get("/bank-statements", response={200: StatementList, **ERRORS})
def list_statements(request: HttpRequest, limit: int = Query(50, ge=1, le=500)) -> dict:
    return {"items": [statement_out(s) for s in selectors.statements()[:limit]]}


@router.get("/bank-statements/{statement_id}", response={200: StatementOut, **ERRORS})
def get_statement(request: HttpRequest, statement_id: int) -> dict:
    return statement_out(selectors.get_statement(statement_id))


class AllocationOut(Schema):
    target: int
    number: str
    amount: str


class SuggestionOut(Schema):
    customer: int
    customer_number: str
    customer_name: str
    score: int
    explanation: str
    reasons: list[str]
    allocations: list[AllocationOut]
    on_account: str
    write_off: str


class LineOut(Schema):
    id: int
    statement: int
    date: str
    value_date: str | None
    direction: str
    amount: str
    currency: str
    reference: str
    counterparty: str
    iban: str
    bank_reference: str
    status: str
    ignore_reason: str
    payment: int | None
    payments: list[int]
    write_off: int | None
    suggestions: list[SuggestionOut]


class LineList(Schema):
    items: list[LineOut]


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


@router.get("/bank-statements/{statement_id}/lines", response={200: LineList, **ERRORS})
def statement_lines(
    request: HttpRequest,
    statement_id: int,
    status: str = Query("", max_length=10),
    limit: int = Query(1000, ge=1, le=10000),
    offset: int = Query(0, ge=0, le=10**7),
) -> dict:
    if status:
        inputs.choice(status, "status", LineStatus.values)
    statement = selectors.get_statement(statement_id)
    lines = list(selectors.statement_lines(statement, status or None)[offset : offset + limit])
    payments = selectors.live_payments([line.pk for line in lines])
    return {"items": [line_out(line, payments[line.pk]) for line in lines]}


@router.get("/bank-lines/{line_id}", response={200: LineOut, **ERRORS})
def get_line(request: HttpRequest, line_id: int) -> dict:
    return _one_line_out(selectors.get_line(line_id))


class PickIn(StrictIn):
    target: Id
    amount: Amount


class WriteOffPickIn(StrictIn):
    amount: Amount
    reason: str = Field(max_length=1000)


class MatchIn(StrictIn):
    allocations: list[PickIn] = Field(default_factory=list, max_length=200)
    customer: Id | None = None
    write_off: WriteOffPickIn | None = None


@router.post("/bank-lines/{line_id}/match", response={200: LineOut, **ERRORS})
def match_line(request: HttpRequest, line_id: int, body: MatchIn) -> dict:
    picks = [decisions.Pick(pick.target, pick.amount) for pick in body.allocations]
    write_off = decisions.WriteOffPick(body.write_off.amount, body.write_off.reason) if body.write_off else None
    line = decisions.match_line(line_id, picks, customer=body.customer, write_off=write_off, user=request.user)
    return _one_line_out(line)


class IgnoreIn(StrictIn):
    reason: str = Field(max_length=1000)


@router.post("/bank-lines/{line_id}/ignore", response={200: LineOut, **ERRORS})
def ignore_line(request: HttpRequest, line_id: int, body: IgnoreIn) -> dict:
    return _one_line_out(decisions.ignore_line(line_id, body.reason, user=request.user))


@router.post("/bank-lines/{line_id}/unmatch", response={200: LineOut, **ERRORS})
def unmatch_line(request: HttpRequest, line_id: int) -> dict:
    return _one_line_out(decisions.unmatch_line(line_id, user=request.user))


class WriteOffIn(StrictIn):
    target: Id
    amount: Amount
    reason: str = Field(max_length=1000)


class WriteOffList(Schema):
    items: list[DocumentOut]


@router.post("/write-offs", response={201: DocumentOut, **ERRORS})
def create_write_off(request: HttpRequest, body: WriteOffIn) -> Status:
    document = write_offs.create_write_off(body.target, body.amount, body.reason, user=request.user)
    return Status(201, document_out(document))


@router.get("/write-offs", response={200: WriteOffList, **ERRORS})
def list_write_offs(
    request: HttpRequest, status: str = Query("", max_length=20), limit: int = Query(100, ge=1, le=1000)
) -> dict:
    if status:
        inputs.choice(status, "status", DocumentStatus.values)
    return {"items": [document_out(d, with_lines=False) for d in selectors.write_offs(status or None)[:limit]]}


class DecisionIn(StrictIn):
    comment: str = Field("", max_length=1000)


@router.post("/write-offs/{write_off_id}/approve", response={200: DocumentOut, **ERRORS})
def approve_write_off(request: HttpRequest, write_off_id: int, body: DecisionIn) -> dict:
    return document_out(write_offs.approve_write_off(write_off_id, user=request.user, comment=body.comment))


@router.post("/write-offs/{write_off_id}/reject", response={200: DocumentOut, **ERRORS})
def reject_write_off(request: HttpRequest, write_off_id: int, body: DecisionIn) -> dict:
    return document_out(write_offs.reject_write_off(write_off_id, user=request.user, comment=body.comment))


class MappingIn(StrictIn):
    mapping: dict[str, str] = Field(max_length=20)


class MappingOut(Schema):
    bank_account: int
    mapping: dict[str, str]


@router.post("/bank-accounts/{bank_account_id}/csv-mapping", response={200: MappingOut, **ERRORS})
def save_csv_mapping(request: HttpRequest, bank_account_id: int, body: MappingIn) -> dict:
    saved = importing.save_csv_mapping(bank_account_id, body.mapping, user=request.user)
    return {"bank_account": bank_account_id, "mapping": saved}


@router.get("/bank-accounts/{bank_account_id}/csv-mapping", response={200: MappingOut, **ERRORS})
def get_csv_mapping(request: HttpRequest, bank_account_id: int) -> dict:
    bank = get_bank_account(bank_account_id, "bank_account")
    return {"bank_account": bank.pk, "mapping": selectors.csv_mapping(bank)}
