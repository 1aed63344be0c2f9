"""The README's two commands, from a fresh clone in an empty directory with nothing installed but
Python: ``make test`` (with a small pytest selection, not this test again) passes, and ``make run``
serves the demo, answering 200 with the login page and the API with the token it printed.

Both install into the clone's own throwaway .venv from the package index, so the test is skipped
when no index answers. It runs once, on the SQLite pass (it uses no DATABASE_URL of its own).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.support import ON_POSTGRES, REPO_ROOT, free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(ON_POSTGRES, reason="runs once, on the SQLite pass: the commands use no DATABASE_URL"),
    pytest.mark.skipif(shutil.which("git") is None, reason="needs git to clone the repository"),
]

SELECTION = "tests/unit/test_money.py -q -p no:cacheprovider"


def _clean_env(**extra: str) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") + tuple(k for k in os.environ if k.startswith("PIP_"))
    env = {k: os.environ[k] for k in keep if k in os.environ}
    # The clone's own .venv, not this one: drop this interpreter's directory from PATH.
    ours = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != ours)
    return {**env, **extra}


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("fresh")
    probe = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", str(where / "probe"), "asgiref"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    if probe.returncode != 0:
        pytest.skip(f"no package index answers (offline?): {probe.stderr.strip()[-200:]}")
    subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(where / "receivables")], check=True, timeout=120)
    return where / "receivables"


def _command(name: str) -> list[str]:
    """``make NAME``, or the script it runs where make is missing."""
    return ["make", name] if shutil.which("make") else ["python3", "scripts/dev.py", name]


def test_make_test_installs_what_is_missing_and_passes(clone: Path) -> None:
    done = subprocess.run(
        [*_command("test"), f"PYTEST_ARGS={SELECTION}"]
        if shutil.which("make")
        else [*_command("test"), *SELECTION.split()],
        cwd=clone,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-5000:]
    assert re.search(r"\d+ passed", done.stdout), done.stdout[-3000:]
    assert (clone / ".venv" / "bin" / "receivables").exists()


@contextlib.contextmanager
def running(argv: list[str], cwd: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_make_run_serves_the_demo_with_its_login_and_a_token(clone: Path) -> None:
    port = free_port()
    with running(_command("run"), clone, _clean_env(PORT=str(port))) as process:
        assert process.stdout is not None
        printed: list[str] = []
        deadline = time.monotonic() + 1200
        while time.monotonic() < deadline and not any(line.startswith("API token:") for line in printed):
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
            printed.append(line.rstrip("\n"))
        text = "\n".join(printed)
        assert f"http://127.0.0.1:{port}/" in text and "demo / demo-password" in text, text[-3000:]
        token = next(line for line in printed if line.startswith("API token:")).split()[-1]
        login = _wait_for(f"http://127.0.0.1:{port}/login/")
        assert login == 200
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/customers", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=15) as answer:
            assert answer.status == 200 and b"Alice" in answer.read()


def _wait_for(url: str, within: float = 120) -> int:
    deadline = time.monotonic() + within
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return answer.status
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
