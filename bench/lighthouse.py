"""Lighthouse on the signed-in page with a synced bank: accessibility, best practices and performance scores, and
the requests and bytes of the first signed-in load (and of a return visit).

`python -m bench.lighthouse` starts `make dev` on a fresh data dir (free ports, as tests/e2e does), connects the
GoCardless sandbox bank as the demo user and waits for its first sync, then runs bench/lighthouse.mjs, which signs in
through the page and runs Lighthouse (mobile, then desktop). `--url http://127.0.0.1:8000` uses a stack that is
already running instead (its demo user must have a synced bank). Needs Node, Chromium (CHROMIUM_PATH or
/usr/bin/chromium) and `npm install --prefix .tools/lighthouse lighthouse puppeteer-core`. Not part of `make bench`:
it needs those tools beside Python. Targets: accessibility and best practices >= 95, performance >= 90.
"""

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from src.auth.demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.harness.devstack import DevStack, signed_in, stack_environment
from tests.harness.live import connect_sandbox_bank, wait_for_job

SCRIPT = Path(__file__).with_name("lighthouse.mjs")
TARGETS = {"accessibility": 95, "best_practices": 95, "performance": 90}


def measure(url: str, email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("Node is not installed: bench/lighthouse.mjs needs it (apt-get install nodejs).")
    done = subprocess.run(  # noqa: S603 (our own script, our own arguments)
        [node, str(SCRIPT), url, email, password], capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"lighthouse.mjs failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_on_fresh_stack() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="finsync-bench-lighthouse-") as workdir:
        data_dir = Path(workdir) / "data"
        stack = DevStack(stack_environment(data_dir), Path(workdir) / "make-dev.log")
        try:
            stack.wait_ready()
            with signed_in(stack.api_url, DEMO_EMAIL, DEMO_PASSWORD) as api:
                _, job_id = connect_sandbox_bank(api)
                job = wait_for_job(api, job_id)
            if job["status"] != "completed":
                raise RuntimeError(f"the first sync ended {job['status']}: {job.get('error_message')}")
            return measure(f"{stack.api_url}/")
        finally:
            stack.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.lighthouse")
    parser.add_argument("--url", help="the page of a running stack (else a fresh `make dev` is started)")
    args = parser.parse_args()
    results = measure(args.url) if args.url else run_on_fresh_stack()
    for form in ("mobile", "desktop"):
        figures = results[form]
        print(f"lighthouse, signed in with a synced bank ({form})")
        for name, target in TARGETS.items():
            print(f"  {name:<28} {figures[name]:>6}   target >= {target}")
        print(f"  {'requests, first load':<28} {figures['requests']:>6}")
        print(f"  {'bytes transferred':<28} {figures['transfer_bytes']:>6}   ({figures['resource_bytes']} decoded)")
        timings = f"FCP {figures['fcp_ms']} ms, LCP {figures['lcp_ms']} ms, TBT {figures['tbt_ms']} ms"
        print(f"  {timings}, CLS {figures['cls']}")
        if figures["below_90"]:
            print(f"  audits below 0.9: {', '.join(figures['below_90'])}")
    visit = results["return_visit"]
    asked, size = visit["requests_to_network"], visit["content_length_bytes"]
    print(f"return visit: {asked} requests to the network, {size} bytes")


if __name__ == "__main__":
    main()
