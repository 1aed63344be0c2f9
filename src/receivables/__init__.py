"""Receivables: accounts receivable and subscription billing back office."""
