"""A real ``receivables serve`` for the contract tests: a fresh database (a SQLite file, or a scratch
PostgreSQL database when DATABASE_URL names one), two tokens, and the server on a free port."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.faults.support import ON_POSTGRES, PG_URL, Server, api_token, run_cli, scratch_database


@dataclass
class Served:
    server: Server
    admin_token: str
    approver_token: str
    database_url: str

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


def _database(tmp_path: Path) -> Iterator[str]:
    if ON_POSTGRES:
        # Scratch databases are named after the one DATABASE_URL names, so they are the tester's own.
        with scratch_database(f"{urlsplit(PG_URL).path.lstrip('/')}_contract") as url:
            yield url
    else:
        url = f"sqlite:///{tmp_path / 'contract.sqlite3'}"
        run_cli(url, "migrate", "--verbosity", "0")
        yield url


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp_path = tmp_path_factory.mktemp("served")
    for url in _database(tmp_path):
        admin = api_token(url, "contract-admin")
        approver = run_cli(url, "create-api-token", "--user", "contract-approver", "--role", "approver").strip()
        server = Server(url, tmp_path / "serve.log", workers=2).start()
        try:
            yield Served(server, admin, approver, url)
        finally:
            server.kill()
