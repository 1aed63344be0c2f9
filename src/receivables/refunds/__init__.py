"""Refunds: money going back to a customer, drawn on an outstanding credit note or payment."""
