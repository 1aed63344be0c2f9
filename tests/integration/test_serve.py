"""`receivables serve` as staff meet it: gunicorn with several worker processes."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.parse
import urllib.request
from pathlib import Path

from tests.faults.support import Server, run_cli


def _log_in(opener: urllib.request.OpenerDirector, base: str) -> None:
    form = opener.open(f"{base}/login/", timeout=15).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert token, "the login page has no CSRF token"
    fields = {"username": "staff", "password": "correct-horse-battery", "csrfmiddlewaretoken": token[1]}
    answer = opener.open(f"{base}/login/", urllib.parse.urlencode(fields).encode(), timeout=15)
    assert not answer.url.endswith("/login/"), "the login was refused"


def test_a_session_holds_across_every_worker_without_a_configured_secret_key(tmp_path: Path) -> None:
    # No SECRET_KEY set: each worker process would otherwise make its own and refuse the
    # sessions the others signed, logging staff out at random.
    database = f"sqlite:///{tmp_path / 'serve.sqlite3'}"
    run_cli(database, "migrate", "--verbosity", "0", SECRET_KEY="")
    run_cli(database, "create-user", "staff", "--role", "viewer", RECEIVABLES_PASSWORD="correct-horse-battery")
    server = Server(database, tmp_path / "serve.log", workers=3, SECRET_KEY="").start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        _log_in(opener, base)
        landed = [opener.open(f"{base}/customers/", timeout=15).url for _ in range(30)]
        assert [url for url in landed if "/login/" in url] == []
    finally:
        server.kill()
