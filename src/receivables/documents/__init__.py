"""Invoices, debit memos, payments, credit notes, refunds, allocations and statements."""
