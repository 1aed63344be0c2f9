"""Schemathesis against a real ``receivables serve``: every phase (examples, coverage, fuzzing,
stateful), every check, positive and negative data, bounded in examples and time.

The server runs on a fresh database with an admin's token. Left out: revoking API tokens (the
fuzzer would revoke its own and test nothing after; tests/api covers revoking). The run's
settings are in schemathesis.toml beside this file, its extra check in hooks.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.contract.conftest import Served
from tests.faults.support import REPO_ROOT, server_env

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
EXAMPLES = os.environ.get("FUZZ_EXAMPLES", "15")
TIMEOUT_SECONDS = 1200


def test_every_phase_and_check_passes_against_the_served_api(served: Served, tmp_path: Path) -> None:
    argv = [
        str(SCHEMATHESIS),
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        f"{served.base_url}/api/v1/openapi.json",
        "--header",
        f"Authorization: Bearer {served.admin_token}",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        EXAMPLES,
        "--seed",
        "20261204",
        "--workers",
        "2",
        "--exclude-operation-id",
        "revoke_api_token",
        "--request-timeout",
        "30",
        "--output-truncate",
        "true",
    ]
    env = {**server_env(served.database_url), "SCHEMATHESIS_HOOKS": "tests.contract.hooks"}
    done = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    (tmp_path / "schemathesis.txt").write_text(done.stdout + done.stderr)
    failures = done.stdout.partition("FAILURES")[2].partition("WARNINGS")[0]
    assert done.returncode == 0, (failures or done.stdout)[:30000] + done.stderr[-3000:]
    assert "✅  Stateful" in done.stdout, done.stdout[-5000:]
