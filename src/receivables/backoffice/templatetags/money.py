"""Money for people: ``{{ doc.total_minor|money:doc.currency }}`` renders £25.00, -£5.00, ¥1,000."""

from __future__ import annotations

from functools import lru_cache

from babel import Locale
from babel.numbers import format_currency, get_currency_symbol
from django import template

from receivables.money import Money

register = template.Library()

# A parsed Locale: handing babel the string "en_GB" re-parses it on every call (~0.7 ms each).
LOCALE = Locale.parse("en_GB")
# CLDR's en_GB symbol for the yen is "JP¥"; staff read "¥" (there is no other yen to confuse it with).
SYMBOLS = {"JPY": "¥"}


def format_money(minor: int | None, currency: str) -> str:
    if minor is None or not currency:
        return ""
    return _formatted(int(minor), currency)


@lru_cache(maxsize=8192)
def _formatted(minor: int, currency: str) -> str:
    """Statements repeat the same few amounts; formatting each once keeps long pages fast."""
    text = format_currency(Money(minor, currency).amount, currency, locale=LOCALE)
    if currency in SYMBOLS:
        text = text.replace(get_currency_symbol(currency, locale=LOCALE), SYMBOLS[currency])
    return text


@register.filter(name="money")
def money_filter(minor: int | None, currency: str) -> str:
    return format_money(minor, currency)


@register.filter
def plain_amount(minor: int | None, currency: str) -> str:
    """The decimal text a form field takes back, e.g. "5.00" (no symbol, no grouping)."""
    return "" if minor is None else Money(int(minor), currency).to_decimal_string()


@register.filter
def currency_symbol(currency: str) -> str:
    return SYMBOLS.get(currency) or get_currency_symbol(currency, locale=LOCALE)
