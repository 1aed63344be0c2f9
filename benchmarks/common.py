"""Helpers the benchmarks share: the machine, timing, percentiles, scratch databases, child processes.

Each benchmark runs one database per child process (Django reads its settings once per
process); the parent creates the scratch database, hands its URL to the child in
``DATABASE_URL``, and reads the child's answer from the last line of its stdout (JSON).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
# Databases other people's work uses; a benchmark never creates or drops these.
PROTECTED = ("test", "lead", "faults")


def machine() -> dict[str, str]:
    """CPU, cores, memory, OS, Python, Django and the load average (other work skews every figure)."""
    import django

    cpu = platform.processor() or "unknown"
    ram = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        kib = next(
            int(s.split()[1]) for s in Path("/proc/meminfo").read_text().splitlines() if s.startswith("MemTotal")
        )
        ram = f"{kib / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": ram,
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "load": load_average(),
    }


def machine_line() -> str:
    """The machine on one line: "AMD EPYC, 2 CPUs; Linux 6.1; Python 3.11.7; Django 5.2"."""
    info = machine()
    return (
        f"{info['cpu']}, {info['cores']} CPUs; {platform.system()} {platform.release()}; "
        f"Python {info['python']}; Django {info['django']}"
    )


def load_average() -> str:
    return " ".join(f"{n:.1f}" for n in os.getloadavg()) + " (1, 5, 15 min)"


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def latency(work: Callable[[], Any], repeats: int, *, warm: int = 1) -> dict[str, float]:
    """Median and p99 of ``repeats`` calls, in milliseconds, after ``warm`` untimed calls."""
    for _ in range(warm):
        work()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        samples.append((time.perf_counter() - start) * 1000)
    return {"median": statistics.median(samples), "p99": percentile(samples, 0.99), "n": repeats}


def peak_rss_mib() -> float:
    """This process's peak resident memory.

    VmHWM belongs to the process's own address space; ``getrusage``'s ``ru_maxrss`` also keeps
    the peak of the parent it was forked from (Linux carries it across fork and exec).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def pg_admin(statement: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(statement)


def _check_scratch(name: str) -> None:
    if name in PROTECTED or name.startswith("test_") or not name.startswith("bench_"):
        raise ValueError(f"{name!r} is not a benchmark scratch database")


@contextmanager
def scratch_database(database: str, name: str, *, keep: bool = False) -> Iterator[str]:
    """A fresh database URL: a temporary SQLite file, or a PostgreSQL database created and dropped."""
    if database == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix=f"{name}_"))
        try:
            yield f"sqlite:///{folder}/bench.sqlite3"
        finally:
            if not keep:
                for file in folder.iterdir():
                    file.unlink()
                folder.rmdir()
        return
    _check_scratch(name)
    pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        if not keep:
            pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def child_env(database_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


def run_child(argv: list[str], env: dict[str, str]) -> dict:
    """Run a benchmark child (its progress shows on stderr); its answer is the last stdout line, JSON."""
    done = subprocess.run([sys.executable, *argv], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"benchmark child {argv} failed with exit code {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def setup_django(settings: str = "receivables.settings") -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings)
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def database_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select sqlite_version()")
            return "SQLite " + cursor.fetchone()[0]
        cursor.execute("show server_version")
        return "PostgreSQL " + cursor.fetchone()[0]
