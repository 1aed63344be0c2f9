"""Settings for the peer benchmark: the project's own settings plus django-hordak and what it needs.

Used only by ``benchmarks/bench_peer.py`` in its own process and scratch database; django-hordak
is not one of the project's dependencies (``pip install django-hordak`` to run the comparison).
"""

from receivables.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "mptt", "hordak"]  # noqa: F405
HORDAK_DEFAULT_CURRENCY = "GBP"
HORDAK_CURRENCIES = ["GBP"]
HORDAK_MAX_DIGITS = 20
HORDAK_DECIMAL_PLACES = 2
