#!/usr/bin/env python3
"""The two commands of a fresh clone, with nothing installed but Python 3.11+ (``make run``, ``make test``).

    python3 scripts/dev.py run              # install what is missing, load demo data on SQLite, serve
    python3 scripts/dev.py test [PYTEST…]   # install what is missing, lint, type-check, run the tests

``run`` serves on http://127.0.0.1:8000/ (``PORT`` and ``HOST`` change it) from ``./receivables.sqlite3``
and prints the demo login and a ready API token. ``test`` runs ruff, mypy and pytest on SQLite, and
again on PostgreSQL when ``DATABASE_URL`` names one; arguments after ``test`` go to pytest (a
selection such as ``tests/unit``). As root on Debian it first installs the system packages the
tests need (Chromium for the browser tests, Pango and a font for WeasyPrint's PDFs).

Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
BIN = VENV / "bin"
# What was installed, and from which pyproject.toml: a changed one installs again.
STAMP = VENV / "receivables-installed"
PDF_PACKAGES = ("fonts-dejavu-core", "libpango-1.0-0", "libpangoft2-1.0-0")
TEST_PACKAGES = ("chromium", *PDF_PACKAGES)
DEMO_USER, DEMO_PASSWORD = "demo", "demo-password"


def say(text: str) -> None:
    print(f"== {text}", flush=True)


def sh(*argv: str | Path, env: dict[str, str] | None = None) -> None:
    done = subprocess.run([str(a) for a in argv], cwd=ROOT, env=env)
    if done.returncode != 0:
        raise SystemExit(done.returncode)


def system_packages(packages: Sequence[str]) -> None:
    """Debian packages, when this runs as root and they are missing; otherwise a note."""
    if shutil.which("dpkg") is None:
        return
    missing = [p for p in packages if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0]
    if not missing:
        return
    if os.geteuid() != 0:
        say(f"not root: install {' '.join(missing)} yourself (browser tests skip, PDFs fail without them)")
        return
    say(f"installing {' '.join(missing)}")
    quiet = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    sh("apt-get", "update", "-qq", env=quiet)
    sh("apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing, env=quiet)


def python_packages(extras: str) -> None:
    """The virtual environment in .venv, with the project installed editable with ``extras``."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this runs before the project (and its requires-python) is installed
        raise SystemExit(f"Receivables needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        say("creating .venv")
        sh(sys.executable, "-m", "venv", VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    done = STAMP.read_text().split() if STAMP.exists() else []
    if f"{extras}:{digest}" in done or f"dev:{digest}" in done:  # dev includes the runtime
        return
    say(f"installing Receivables and its dependencies ({extras or 'runtime'}) into .venv")
    quiet = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    sh(BIN / "python", "-m", "pip", "install", "-q", "-e", f".[{extras}]" if extras else ".", env=quiet)
    STAMP.write_text("\n".join([*done, f"{extras}:{digest}"]) + "\n")


def receivables(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run([str(BIN / "receivables"), *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(done.returncode)
    return done.stdout


def run() -> None:
    system_packages(PDF_PACKAGES)
    python_packages("")
    host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
    # The demo always lives in its own SQLite file here, whatever DATABASE_URL the shell exports.
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{ROOT / 'receivables.sqlite3'}"}
    say("loading the demo data (receivables demo)")
    print(receivables("demo", env=env), end="")
    token = receivables("create-api-token", "--user", DEMO_USER, env=env).strip()
    print(
        f"\nReceivables: http://{host}:{port}/\n"
        f"Log in as:   {DEMO_USER} / {DEMO_PASSWORD}\n"
        f"API token:   {token}\n"
        f"Try:         curl -H 'Authorization: Bearer {token}' http://{host}:{port}/api/v1/customers\n"
        f"API docs:    http://{host}:{port}/api/v1/docs\n",
        flush=True,
    )
    os.execve(BIN / "receivables", [str(BIN / "receivables"), "serve", "--host", host, "--port", port], env)


def test(pytest_args: list[str]) -> None:
    system_packages(TEST_PACKAGES)
    python_packages("dev")
    for name, *argv in (
        ("ruff check", "ruff", "check", "src", "tests", "benchmarks", "scripts"),
        ("ruff format --check", "ruff", "format", "--check", "src", "tests", "benchmarks", "scripts"),
        ("mypy", "mypy", "src"),
    ):
        say(name)
        sh(BIN / argv[0], *argv[1:])
    database_url = os.environ.get("DATABASE_URL", "")
    on_sqlite = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "RECEIVABLES_FAULT_TESTS")}
    say("tests on SQLite")
    sh(BIN / "pytest", *pytest_args, env=on_sqlite)
    if database_url.startswith(("postgres://", "postgresql://")):
        say("tests on PostgreSQL")
        sh(BIN / "pytest", *pytest_args, env=dict(os.environ))


def main(argv: list[str]) -> None:
    if argv[:1] == ["run"] and len(argv) == 1:
        run()
    elif argv[:1] == ["test"]:
        test(argv[1:])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
