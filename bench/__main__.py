"""`make bench`: plink against the local stack's time model, in one go (BENCHMARKS.md).

    localstack/.venv/bin/python -m bench --plink target/release/plink

Starts a private stack at time scale BENCH_SCALE (default 0.05: the real-world delays 20× faster),
runs the scenarios, prints the figures and the targets of issue 13 (PASS/MISS), writes them to
target/bench/last.json and the Markdown section of BENCHMARKS.md to target/bench/last.md, and
stops the stack. Exit 0 whatever the figures; 1 when something fails to run.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from . import critical_path, report
from .scenarios import Bench
from .stack import REPO, Stack

DEFAULT_SCALE = "0.05"


def say(what: str) -> None:
    print(f"bench: {what}", file=sys.stderr, flush=True)


def time_scale() -> float:
    """BENCH_SCALE, which must be 1/N: plink divides its poll intervals by a whole number."""
    scale = float(os.environ.get("BENCH_SCALE") or DEFAULT_SCALE)
    if not 0 < scale <= 1 or abs(1 / scale - round(1 / scale)) > 1e-9:
        raise ValueError(f"BENCH_SCALE must be 1/N for a whole N ≥ 1 (0.05, 0.1, 1), not {scale}")
    return scale


def main() -> int:
    parser = argparse.ArgumentParser(description="plink's benchmark against the local stack")
    parser.add_argument("--plink", type=Path, required=True, help="the plink binary (a release build)")
    parser.add_argument("--out", type=Path, default=REPO / "target" / "bench", help="where results go")
    args = parser.parse_args()
    try:
        results = run(args.plink.resolve(), args.out.resolve())
    except KeyboardInterrupt:
        say("interrupted (the stack is stopped)")
        return 130
    except Exception as exc:
        say(f"FAILED: {exc}")
        return 1
    print(results)
    return 0


def run(plink: Path, out: Path) -> str:
    scale = time_scale()
    out.mkdir(parents=True, exist_ok=True)
    with Stack(out / "stack", scale) as stack:
        say(f"stack up at time scale {scale} ({stack.exports['AWS_ENDPOINT_URL']}, "
            f"{stack.exports['DATABRICKS_HOST']})")
        config = stack.reset()
        rtt = stack.round_trip()
        cp = critical_path.compute(config, rtt)
        say(f"round trip {rtt * 1000:.1f} ms; critical path {cp['seconds']:.2f} s")
        # Generous: a run that takes this long is stuck, not slow.
        bench = Bench(stack, plink, out, timeout_s=120 + 20 * cp["seconds"])

        scenarios: dict[str, dict] = {}
        say("(a) fresh plink up, then (c) converged plink up")
        scenarios["fresh"], scenarios["converged"] = bench.fresh_and_converged()
        say(f"    {scenarios['fresh']['wall_s']:.2f} s, then {scenarios['converged']['wall_s']:.2f} s")
        say("(b) sequential script (boto3 + databricks-sdk)")
        scenarios["sequential"] = bench.sequential()
        say(f"    {scenarios['sequential']['wall_s']:.2f} s")
        for count in (1, 10):
            say(f"(d) {count} deployment(s), plink up --parallel 10")
            scenarios[f"fleet_{count}"] = bench.fleet(count)
            say(f"    {scenarios[f'fleet_{count}']['wall_s']:.2f} s")
        say("start-up of plink --version and plink validate")
        startup = bench.startup()

    results = {
        "date": report.now(),
        "commit": _commit(),
        "command": "make bench" + (f" BENCH_SCALE={os.environ['BENCH_SCALE']}"
                                   if os.environ.get("BENCH_SCALE") else ""),
        "plink": str(plink.relative_to(REPO)) if plink.is_relative_to(REPO) else str(plink),
        "plink_version": subprocess.run([str(plink), "--version"], capture_output=True,
                                        text=True).stdout.strip(),
        "machine": report.machine(),
        "time_scale": scale,
        "wait_scale": bench.wait_scale,
        "stack_config": config,
        "critical_path": cp,
        "scenarios": scenarios,
        "startup": startup,
        "targets": report.targets(scenarios, cp["seconds"]),
    }
    table = report.markdown(results)
    (out / "last.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "last.md").write_text(table)
    say(f"results in {out / 'last.json'}; the Markdown below is also in {out / 'last.md'}")
    return table


def _commit() -> str:
    """HEAD's short id, marked when the working tree differs from it."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                          text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                           capture_output=True, text=True).stdout.strip()
    return f"{head} + uncommitted changes" if dirty else head


if __name__ == "__main__":
    sys.exit(main())
