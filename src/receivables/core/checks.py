"""The invariants behind ``receivables ledger verify``: each area registers its own checks.

A check yields a line per problem found (at most a few dozen); no problems means it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

Problems = Iterator[str]

CHECKS: dict[str, Callable[[], Problems]] = {}


def register_check(name: str, check: Callable[[], Problems]) -> None:
    """Areas add their invariants in their AppConfig.ready(), so nothing below imports them."""
    CHECKS[name] = check


def verify() -> dict[str, list[str]]:
    return {name: list(check()) for name, check in CHECKS.items()}
