"""Small helpers for forms and labels in the staff templates."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def label(value: str) -> str:
    """A stored code (``credit_note``, ``bank_transfer``) as words."""
    return str(value or "").replace("_", " ").capitalize()


@register.filter
def get_item(mapping: object, key: str) -> object:
    getter = getattr(mapping, "get", None)
    return getter(key) if getter else None


@register.filter
def line_field(row: int, name: str) -> str:
    """The input name of one invoice line's field: ``lines[0].quantity``."""
    return f"lines[{row}].{name}"
