"""`make bench`: every benchmark in one run, each against a fresh migrated database; figures are printed with the
ratio the target is about. `python -m bench --quick` runs a smaller scale for a smoke test."""

import argparse
import logging
from collections.abc import Callable

from bench import devstack, extraction, jobs, sync_clicks, sync_transactions, transactions_listing
from bench._database import fresh_database


def _line(label: str, value: str, target: str = "") -> None:
    print(f"  {label:<44} {value:>14}   {target}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="small scale, for a smoke test")
    parser.add_argument("--only", action="append", choices=list(BENCHMARKS), help="run only this one (repeatable)")
    args = parser.parse_args()
    logging.getLogger("alembic").setLevel(logging.WARNING)

    selected = args.only or list(BENCHMARKS)
    for name in selected:
        BENCHMARKS[name](quick=args.quick)


def _sync(*, quick: bool) -> None:
    accounts, per_account = (50, 1000) if quick else (1000, 1000)
    print(f"sync: raw → unified transactions, {accounts} accounts × {per_account} transactions")
    sync = sync_transactions.run(fresh_database(), accounts=accounts, per_account=per_account)
    _line("initial sync", f"{sync['initial_rows_per_s']:,.0f} rows/s")
    _line("COPY into the same table shape", f"{sync['copy_rows_per_s']:,.0f} rows/s")
    _line("initial ÷ COPY", f"{sync['initial_vs_copy']:.2f}", "target ≥ 0.25")
    _line("initial sync wall time", f"{sync['initial_seconds']:.1f} s")
    _line(
        "re-sync of unchanged data",
        f"{sync['resync_seconds']:.1f} s",
        f"({sync['resync_changed_rows']:.0f} rows changed)",
    )
    _line("initial ÷ re-sync", f"{sync['resync_speedup']:.1f}×", "target ≥ 3")
    _line("re-sync of unchanged data, rate", f"{sync['resync_rows_per_s']:,.0f} rows/s")
    print("  same rows as Enable Banking raw rows (eb_*), synced in turn with GoCardless's, same database and pool")
    _line("Enable Banking: initial sync", f"{sync['eb_initial_rows_per_s']:,.0f} rows/s")
    _line("Enable Banking: initial ÷ COPY", f"{sync['eb_initial_vs_copy']:.2f}", "target ≥ 0.25")
    _line("Enable Banking: initial sync wall time", f"{sync['eb_initial_seconds']:.1f} s")
    _line(
        "Enable Banking: re-sync of unchanged data",
        f"{sync['eb_resync_seconds']:.1f} s",
        f"({sync['eb_resync_changed_rows']:.0f} rows changed)",
    )
    _line("Enable Banking: re-sync, rate", f"{sync['eb_resync_rows_per_s']:,.0f} rows/s")
    _line("Enable Banking: initial ÷ re-sync", f"{sync['eb_resync_speedup']:.1f}×", "target ≥ 3")
    _line("Enable Banking ÷ GoCardless, initial sync", f"{sync['eb_vs_gc_initial']:.2f}", "(rows/s; 1 = as fast)")
    _line("Enable Banking ÷ GoCardless, re-sync", f"{sync['eb_vs_gc_resync']:.2f}", "(rows/s; 1 = as fast)")
    same = "yes" if sync["same_unified_rows"] else "NO: the two loads differ, the comparison is void"
    _line("same unified rows from both providers", same, f"({sync['eb_rows']:,.0f} · {sync['rows']:,.0f} rows)")


def _extraction(*, quick: bool) -> None:
    print("extraction: 50 accounts, 100 ms sandbox latency, balances scope (median of 3)")
    extract = extraction.run(fresh_database())
    _line(f"pool of {extract['pool']:.0f}", f"{extract['pooled_seconds']:.2f} s")
    _line("pool of 1", f"{extract['serial_seconds']:.2f} s")
    _line(
        "pool of 1 ÷ pooled", f"{extract['speedup']:.1f}×", f"(most requests in flight: {extract['max_in_flight']:.0f})"
    )


def _listing(*, quick: bool) -> None:
    accounts, rows, requests = (10, 100_000, 100) if quick else (100, 1_000_000, 200)
    print(
        f"transactions listing: one user, {accounts} accounts, {rows:,} transactions; the service call, 50 rows a "
        f"page, p50 · p95 of {requests} calls (extra searches: 50)"
    )
    listing = transactions_listing.run(fresh_database(), accounts=accounts, transactions=rows, requests=requests)
    _line("setup (COPY, link superseded, VACUUM ANALYZE)", f"{listing['load_s']:.1f} s")
    for position, (key, label) in enumerate(transactions_listing.SHAPES):
        if f"{key}.words" in listing:
            label = f"{label} '{listing[f'{key}.words']}' ({int(listing[f'{key}.matches']):,} rows)"
        for depth in (0, transactions_listing.DEPTH):
            if f"{key}.{depth}.p95" not in listing:
                if depth == 0 or position < 4:
                    _line(f"{label}, {depth:,} deep", "n/a", "(not that many rows)")
                continue
            p50, p95 = float(listing[f"{key}.{depth}.p50"]), float(listing[f"{key}.{depth}.p95"])
            where = "first page" if depth == 0 else f"{depth:,} deep"
            verdict = ""
            if position < 4:
                met = p95 < transactions_listing.TARGET_MS
                verdict = f"target p95 < {transactions_listing.TARGET_MS:.0f} ms: {'met' if met else 'MISSED'}"
            _line(f"{label}, {where}", f"{p50:5.1f} · {p95:5.1f} ms", verdict)
        if f"{key}.summary.p95" in listing:
            p50, p95 = float(listing[f"{key}.summary.p50"]), float(listing[f"{key}.summary.p95"])
            _line(f"{label}, summary (count and sums)", f"{p50:5.1f} · {p95:5.1f} ms", "(every match visited)")


def _jobs(*, quick: bool) -> None:
    repeats = 3 if quick else 5
    print(
        "sync jobs: Sync now of the sandbox bank through the live API (finsync's Dagster: dev instance, in-process "
        f"executor) beside the same job on Dagster's defaults (5 s dequeue, multiprocess), median of {repeats}"
    )
    figures = jobs.run(fresh_database(), repeats=repeats)
    _line("accounts in the connection", f"{figures['accounts']:.0f}")
    _line("finsync: Sync now → running (job status)", f"{figures['finsync_running_s']:.2f} s")
    _line("finsync: Sync now → running (run STARTED)", f"{figures['finsync_started_s']:.2f} s")
    _line("finsync: Sync now → completed", f"{figures['finsync_completed_s']:.2f} s")
    _line("defaults: launch → STARTED", f"{figures['default_started_s']:.2f} s")
    _line("defaults: launch → SUCCESS", f"{figures['default_completed_s']:.2f} s")
    _line("finsync completed ÷ defaults completed", f"{figures['completed_ratio']:.2f}", "target ≤ 0.33")
    print(
        f"job polling: concurrent pollers for {figures['poll_seconds']:.0f} s each on a running job (sandbox latency "
        "keeps the run busy), beside /health on the same API server; GraphQL requests counted by a proxy"
    )
    not_running = f", {figures['jobs_not_running']:.0f} answers not 'running'" if figures["jobs_not_running"] else ""
    _line(
        f"GET /api/jobs/{{id}}, {figures['few_pollers']:.0f} pollers",
        f"{figures['jobs_few_rps']:,.0f} req/s",
        f"({figures['jobs_few_failed']:.0f} failed; Dagster asked {figures['graphql_few_per_s']:.2f}/s)",
    )
    _line(
        f"GET /api/jobs/{{id}}, {figures['pollers']:.0f} pollers",
        f"{figures['jobs_rps']:,.0f} req/s",
        f"({figures['jobs_failed']:.0f} failed{not_running})",
    )
    _line(
        f"GET /health, {figures['pollers']:.0f} pollers",
        f"{figures['health_rps']:,.0f} req/s",
        f"({figures['health_failed']:.0f} failed)",
    )
    _line("jobs ÷ health", f"{figures['jobs_vs_health']:.2f}", "target ≥ 0.5")
    _line(f"GraphQL requests to Dagster ({figures['pollers']:.0f} pollers)", f"{figures['graphql_requests']:.0f}")
    _line("GraphQL requests per second (one run)", f"{figures['graphql_per_s']:.2f}", "target ≤ about 1")
    if not figures["still_running"]:
        print("  (the run was no longer STARTED when the 100-poller window closed: raise latency_ms)")


def _clicks(*, quick: bool) -> None:
    clicks = 50 if quick else 200
    print(f"Sync now clicked {clicks} times on one connection across a day of sandbox time (live API and Dagster)")
    figures = sync_clicks.run(fresh_database(), clicks=clicks)
    _line("answers to Sync now by status", str(figures["click_codes"]))
    _line("job reads after each click by status", str(figures["poll_codes"]))
    _line("5xx answers", f"{figures['server_errors']}", "target 0")
    _line("jobs started, and how they ended", f"{figures['jobs']}", str(figures["jobs_ended"]))
    _line("tracebacks in the API's log", f"{figures['tracebacks_in_api_log']}")
    _line("clicking took", f"{figures['clicking_seconds']:.0f} s")


def _devstack(*, quick: bool) -> None:
    repeats = 1 if quick else 3
    print(f"make dev: a fresh data dir to the sandbox bank's first completed sync (demo user), median of {repeats}")
    figures = devstack.run(repeats=repeats)
    _line("make dev → ready line", f"{figures['ready_s']:.1f} s")
    _line("make dev → first sync completed", f"{figures['first_sync_s']:.1f} s", "target ≤ 60 s")
    _line("Ctrl-C → no process of the stack left", f"{figures['stop_s']:.1f} s")
    _line("second start (same data) → ready line", f"{figures['second_ready_s']:.1f} s")


BENCHMARKS: dict[str, Callable[..., None]] = {
    "sync": _sync,
    "extraction": _extraction,
    "listing": _listing,
    "jobs": _jobs,
    "clicks": _clicks,
    "devstack": _devstack,
}


if __name__ == "__main__":
    main()
