"""Proof at scale (issue 7): every benchmark in one command, a table with the machine, BENCHMARKS.md.

    .venv/bin/python benchmarks/run_all.py [--scale small|full]

small: 1,000 customers and 100,000 documents (the busiest customer 20,000), 10 s of load, a few
minutes. full: 10,000 customers and 1,000,000 documents (the busiest 100,000), 60 s of load.

On SQLite and on PostgreSQL, each in its own child process and scratch database
(``bench_scale_<pid>``, created and dropped here): the book is generated (``book.py``), posting
through the services is timed beside the same rows written the plain way, the reads are timed,
and ``ledger verify`` runs over the book (``bench_scale.py``). On the PostgreSQL book the API is
then served by ``receivables serve`` and loaded by 32 clients (``bench_load.py``), and verified
again. The peer (django-hordak, when installed) runs on the same PostgreSQL server
(``bench_peer.py``), and the bill run is ``bench_bill_run.py``'s. The table is printed and
written into BENCHMARKS.md under "Scale (issue 7)"; the other sections are kept.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_load  # noqa: E402
import bench_peer  # noqa: E402
from common import PG_SERVER, ROOT, child_env, load_average, machine, progress, run_child, scratch_database  # noqa: E402

SCALES = {
    "small": {"customers": 1000, "documents": 100_000, "big": 20_000, "count": 200, "load": 10, "bill": 1000},
    "tiny": {"customers": 50, "documents": 3000, "big": 1000, "count": 20, "load": 3, "bill": 30},
    "full": {"customers": 10_000, "documents": 1_000_000, "big": 100_000, "count": 1000, "load": 60, "bill": 3000},
}
AIM_READ_MS, AIM_BOOK_MS, AIM_POSTING_RATIO = 50, 2000, 1 / 3
SECTION = "## Scale (issue 7)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--bill-run", type=int, help="subscriptions in the bill run (default by scale; 0: skip)")
    parser.add_argument("--from-json", help="render a saved run instead of running")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args()
    if args.from_json:
        run = json.loads(Path(args.from_json).read_text())
    else:
        saved = Path(f"/tmp/receivables-bench-{args.scale}-{os.getpid()}.json")
        progress(f"results are saved in {saved} as each stage ends")
        run = measure(args.scale, args.databases.split(","), args.bill_run, saved)
    text = render(run)
    print(text)
    if not args.no_write:
        write_section(text)


def measure(scale: str, databases: list[str], bill: int | None, saved: Path) -> dict:
    """Every stage in turn; the results are saved after each, and a failed stage is recorded, not fatal
    (other people's tests on this machine stop and start PostgreSQL)."""
    sys.path.insert(0, str(ROOT / "src"))
    sizes = SCALES[scale]
    run: dict = {"scale": scale, "sizes": sizes, "machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M")}
    run["databases"], run["failures"] = {}, []

    def stage(name: str, work: Callable[[], object]) -> object:
        try:
            return work()
        except (SystemExit, Exception) as error:  # noqa: BLE001 - recorded in the report
            run["failures"].append(f"{name}: {error}")
            progress(f"{name} failed: {error}")
            return None
        finally:
            saved.write_text(json.dumps(run, indent=1))

    for database in databases:
        stage(database, lambda database=database: scale_run(database, sizes, run))
    run["peer"] = stage("peer", lambda: bench_peer.run(sizes["count"])) or {"skipped": "the peer run failed"}
    run["bill_run"] = {}
    for database in databases if bill != 0 else []:
        figures = stage(f"bill run {database}", lambda database=database: bill_run(database, bill or sizes["bill"]))
        if figures:
            run["bill_run"][database] = figures
    run["finished_load"] = load_average()
    saved.write_text(json.dumps(run, indent=1))
    return run


def scale_run(database: str, sizes: dict, run: dict) -> None:
    with scratch_database(database, f"bench_scale_{os.getpid()}") as url:
        argv = [str(ROOT / "benchmarks" / "bench_scale.py")]
        for key in ("customers", "documents", "big", "count"):
            argv += [f"--{key}", str(sizes[key])]
        result = run_child(argv, child_env(url))
        result["load_average"] = load_average()
        run["databases"][database] = result
        if database == "postgres":
            result["load"] = bench_load.run(url, result["generate"]["customer_ids"], 32, sizes["load"])


def bill_run(database: str, subscriptions: int) -> dict:
    """``bench_bill_run.py``'s own child: the real bill run over N due subscriptions, with peak RSS."""
    command = [sys.executable, str(ROOT / "benchmarks" / "bench_bill_run.py"), "--child", "--database", database]
    command += ["--subscriptions", str(subscriptions), "--postgres", f"{PG_SERVER}/postgres"]
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=child_env(""))
    _, engine, _, *pairs = done.stdout.strip().splitlines()[-1].split("|")
    result = dict(pair.split("=", 1) for pair in pairs)
    return {"engine": engine, "subscriptions": subscriptions, **{k: float(v) for k, v in result.items()}}


# The table ---------------------------------------------------------------------------------------


def render(run: dict) -> str:
    dbs = run["databases"]
    names = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
    out = [SECTION, ""]
    out.append(
        f"`.venv/bin/python benchmarks/run_all.py --scale {run['scale']}` — run {run['started']}; "
        f"{run['sizes']['customers']:,} customers, {run['sizes']['documents']:,} documents generated "
        f"(the busiest customer {run['sizes']['big']:,}); {run['sizes']['count']:,} documents of each kind posted."
    )
    out += ["", "| machine | |", "|---|---|"]
    out += [f"| {key} | {value} |" for key, value in run["machine"].items()]
    for db, result in dbs.items():
        out.append(f"| {names[db]} | {result['version']}; load after its run {result['load_average']} |")
    out.append(f"| load at the end | {run.get('finished_load', '')} |")
    out += (
        summary_table(run, names)
        + posting_table(dbs, names)
        + peer_table(run)
        + reads_table(dbs, names)
        + load_table(dbs)
    )
    out += verify_table(dbs, names, run)
    if run.get("failures"):
        out += ["", "Stages that failed in this run: " + "; ".join(run["failures"])]
    return "\n".join(out) + "\n"


def summary_table(run: dict, names: dict) -> list[str]:
    """One line per aim of the issue: the figure, the aim, met or not."""
    dbs, out = run["databases"], ["", "### Summary", "", "| figure | aim | measured | met |", "|---|---|---|---|"]

    def row(figure: str, aim: str, measured: str, met: bool) -> None:
        out.append(f"| {figure} | {aim} | {measured} | {'yes' if met else '**no**'} |")

    for db, result in dbs.items():
        rates = result["posting"]["rates"]
        ratios = {kind: rates["services"][kind] / rates["per-transaction"][kind] for kind in rates["services"]}
        measured = ", ".join(f"{kind.split(' (')[0]} {ratio:.0%}" for kind, ratio in ratios.items())
        row(f"{names[db]}: posting ÷ per-transaction limit", "≥ 33 %", measured, min(ratios.values()) >= 1 / 3)
    peer = run.get("peer", {})
    if "ours_per_s" in peer:
        ratio = peer["ours_per_s"] / peer["hordak_per_s"]
        measured = f"{peer['ours_per_s']:,.0f} ÷ {peer['hordak_per_s']:,.0f} = {ratio:.2f}"
        row("PostgreSQL: our invoice ÷ hordak transfer", "≥ 1", measured, ratio >= 1)
    for db, result in dbs.items():
        single = {k: v["median"] for k, v in result["reads"].items() if not k.startswith("whole book")}
        misses = {k: v for k, v in single.items() if v >= AIM_READ_MS}
        measured = f"slowest {max(single.values()):,.0f} ms" + (
            "; over the aim: " + ", ".join(f"{_short(k)} {v:,.0f} ms" for k, v in misses.items()) if misses else ""
        )
        row(f"{names[db]}: one customer's reads, median", f"< {AIM_READ_MS} ms", measured, not misses)
        book = {k.split(": ", 1)[1]: v["median"] for k, v in result["reads"].items() if k.startswith("whole book")}
        measured = ", ".join(f"{k} {v:,.0f} ms" for k, v in book.items())
        row(
            f"{names[db]}: whole book reads, median",
            f"< {AIM_BOOK_MS / 1000:.0f} s",
            measured,
            max(book.values()) < AIM_BOOK_MS,
        )
    load = dbs.get("postgres", {}).get("load")
    if load:
        measured = (
            f"{load['rps']:,.0f} requests/s, p50 {load['p50']:,.0f} ms, p99 {load['p99']:,.0f} ms, "
            f"{load['errors_5xx']} 5xx, verify {'clean' if load['verify_exit'] == 0 else 'FAILED'}"
        )
        row(
            "PostgreSQL under load, 32 clients",
            "0 5xx, verify clean",
            measured,
            not load["errors_5xx"] and not load["verify_exit"],
        )
    for db, result in dbs.items():
        verify = result["verify"]
        measured = f"{verify['seconds']:,.0f} s, peak {verify['rss_mib']:,.0f} MiB"
        row(f"{names[db]}: ledger verify of the whole book", "all invariants hold", measured, verify["exit"] == 0)
    return out


def _short(read: str) -> str:
    """ "busiest customer (100,000 documents): refundables" → "busiest customer: refundables"."""
    who, _, what = read.partition(": ")
    return f"{who.split(' (')[0]}: {what}"


def posting_table(dbs: dict, names: dict) -> list[str]:
    out = ["", "### Posting throughput (documents/s, one transaction each) beside the database's limit", ""]
    out.append(
        "Services: the real service functions. Per-transaction limit: the same rows (document, lines, "
        "journal entry and postings, audit records, allocation, number, balance) written by plain SQL, "
        "`executemany` per table, one transaction per document. Bulk limit: the same rows for all the "
        "documents in one transaction by COPY (PostgreSQL) / `executemany` (SQLite). Measured in turns, "
        f"in one run. Aim: services ≥ {AIM_POSTING_RATIO:.0%} of the limit."
    )
    out += ["", "| database | document | services | per-transaction limit | ratio | bulk limit | ratio |"]
    out.append("|---|---|---:|---:|---:|---:|---:|")
    for db, result in dbs.items():
        rates = result["posting"]["rates"]
        for kind, ours in rates["services"].items():
            tx, bulk = rates["per-transaction"][kind], rates["bulk"][kind]
            mark = "" if ours / tx >= AIM_POSTING_RATIO else " ✗"
            out.append(
                f"| {names[db]} | {kind} | {ours:,.0f} | {tx:,.0f} | {ours / tx:.0%}{mark} | {bulk:,.0f} | "
                f"{ours / bulk:.1%} |"
            )
    return out


def peer_table(run: dict) -> list[str]:
    peer = run.get("peer", {})
    out = ["", "### A peer on the same PostgreSQL: django-hordak", ""]
    if "skipped" in peer:
        return [*out, peer["skipped"]]
    ratio = peer["ours_per_s"] / peer["hordak_per_s"]
    out.append(
        f"Same server, same scratch database, in turns, {peer['count']:,} of each, one transaction each. "
        "Aim: our complete invoice at least as fast as hordak's bare transfer."
    )
    out += ["", "| ours: complete invoice/s | hordak " + peer["hordak_version"] + ": bare transfer/s | ratio |"]
    out += ["|---:|---:|---:|", f"| {peer['ours_per_s']:,.0f} | {peer['hordak_per_s']:,.0f} | {ratio:.2f}"]
    out[-1] += " |" if ratio >= 1 else " ✗ |"
    return out


def reads_table(dbs: dict, names: dict) -> list[str]:
    out = ["", "### Reads through the API (ms; median and p99)", ""]
    out.append(
        f"Django's test client against the API, warm. Aim: one customer's reads under {AIM_READ_MS} ms median; "
        f"the whole book's trial balance and aged receivables under {AIM_BOOK_MS / 1000:.0f} s."
    )
    header = "| read | " + " | ".join(f"{names[db]} median | {names[db]} p99" for db in dbs) + " |"
    out += ["", header, "|---|" + "---:|---:|" * len(dbs)]
    first = next(iter(dbs.values()))
    for name in first["reads"]:
        aim = AIM_BOOK_MS if name.startswith("whole book") else AIM_READ_MS
        cells = []
        for result in dbs.values():
            figure = result["reads"].get(name)
            if figure is None:
                cells.append("– | –")
                continue
            mark = "" if figure["median"] < aim else " ✗"
            cells.append(f"{figure['median']:,.1f}{mark} | {figure['p99']:,.1f}")
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return out


def load_table(dbs: dict) -> list[str]:
    load = dbs.get("postgres", {}).get("load")
    if not load:
        return []
    out = ["", "### Under load: `receivables serve` on PostgreSQL, 32 clients on loopback", ""]
    out.append(
        f"Payments, credit notes and refunds (created, not processed) for {load['seconds']:.0f} s after a "
        f"{load.get('warm_up', 0):.0f} s warm-up; gunicorn as `receivables serve` starts it (3 workers × 4 threads); "
        f"the clients are Python threads on the same 2 cores. Load average at the start: {load['load_at_start']:.1f}."
    )
    out += ["", "| requests/s | p50 ms | p99 ms | requests | answers | 5xx | ledger verify after |"]
    out.append("|---:|---:|---:|---:|---|---:|---|")
    verdict = "clean" if load["verify_exit"] == 0 else "FAILED"
    answers = ", ".join(f"{k}: {v}" for k, v in load["statuses"].items())
    out.append(
        f"| {load['rps']:,.1f} | {load['p50']:,.0f} | {load['p99']:,.0f} | {load['requests']:,} | {answers} | "
        f"{load['errors_5xx']} | {verdict} |"
    )
    for kind, figure in load["by_kind"].items():
        out.append(f"| {kind} | {figure['p50']:,.0f} | {figure['p99']:,.0f} | {figure['n']:,} | | | |")
    return out


def verify_table(dbs: dict, names: dict, run: dict) -> list[str]:
    out = ["", "### Book generation, ledger verify and the bill run (time, peak memory)", ""]
    out += ["| database | what | size | seconds | rate | peak RSS MiB |", "|---|---|---:|---:|---:|---:|"]
    for db, result in dbs.items():
        gen, verify = result["generate"], result["verify"]
        out.append(
            f"| {names[db]} | generate the book (COPY / executemany, batches) | {gen['documents']:,} documents | "
            f"{gen['seconds']:,.0f} | {gen['documents'] / gen['seconds']:,.0f} documents/s | {gen['rss_mib']:,.0f} |"
        )
        verdict = "all invariants hold" if verify["exit"] == 0 else "PROBLEMS: " + "; ".join(verify["report"])
        out.append(
            f"| {names[db]} | `receivables ledger verify` ({verdict}) | whole book | {verify['seconds']:,.1f} | | "
            f"{verify['rss_mib']:,.0f} |"
        )
    for db, bill in run.get("bill_run", {}).items():
        out.append(
            f"| {names[db]} | bill run (`bench_bill_run.py`) | {int(bill['subscriptions']):,} subscriptions | "
            f"{bill['seconds']:,.0f} | {bill['rate']:,.1f} renewals/s | {bill['rss_after']:,.0f} "
            f"(after set-up {bill['rss_before']:,.0f}) |"
        )
    return out


def write_section(text: str) -> None:
    """Replace (or add) the "Scale (issue 7)" section of BENCHMARKS.md, keeping every other section."""
    path = ROOT / "BENCHMARKS.md"
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    notes = ROOT / "benchmarks" / "scale_notes.md"
    section = text + ("\n" + notes.read_text() if notes.exists() else "")
    if SECTION in current:
        before, _, rest = current.partition(SECTION)
        following = rest.find("\n## ")
        after = rest[following + 1 :] if following >= 0 else ""
        current = before + section + ("\n" + after if after else "")
    else:
        current = current.rstrip("\n") + "\n\n" + section
    path.write_text(current)
    progress(f"wrote {path}")


if __name__ == "__main__":
    main()
