"""The figures of a run: the ratios, the targets of issue 13 with PASS/MISS, the machine, and the
Markdown section that BENCHMARKS.md keeps ("Figures of the last run")."""
from __future__ import annotations

import os
import platform
from datetime import datetime, timezone


def machine() -> dict:
    meminfo = dict(line.split(":", 1) for line in open("/proc/meminfo"))
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor() or "unknown")
    return {"cpus": len(os.sched_getaffinity(0)), "cpu_model": cpu,
            "ram_gib": round(int(meminfo["MemTotal"].split()[0]) / 2**20, 1),
            "os": f"{platform.system()} {platform.release()}"}


def targets(s: dict, critical_s: float) -> list[dict]:
    """Each target of issue 13 ("Done when") against this run."""
    fresh, seq, conv = s["fresh"], s["sequential"], s["converged"]
    one, many = s["fleet_1"], s["fleet_10"]
    throttled = [t for m in s.values() for t in m["throttled"]]
    rows = [
        ("fresh `up` / critical path (wall)", fresh["wall_s"] / critical_s, "≤ 1.05", lambda v: v <= 1.05),
        ("fresh `up` / script (wall)", fresh["wall_s"] / seq["wall_s"], "< 1", lambda v: v < 1),
        ("fresh `up` / script (requests)", fresh["requests"]["total"] / seq["requests"]["total"], "≤ 0.5",
         lambda v: v <= 0.5),
        ("converged `up`: requests", conv["requests"]["total"], "≤ 15", lambda v: v <= 15),
        ("converged `up`: mutating requests", conv["mutating"]["total"], "0", lambda v: v == 0),
        ("10 deployments / 1 deployment (wall)", many["wall_s"] / one["wall_s"], "≤ 1.5", lambda v: v <= 1.5),
        ("throttling errors (every scenario)", len(throttled), "0", lambda v: v == 0),
    ]
    return [{"target": name, "measured": value, "goal": goal, "pass": ok(value)}
            for name, value, goal, ok in rows]


def markdown(r: dict) -> str:
    s, cp = r["scenarios"], r["critical_path"]
    names = {"fresh": "(a) fresh `plink up`", "sequential": "(b) sequential script",
             "converged": "(c) converged `plink up`", "fleet_1": "(d) 1 deployment, `--parallel 10`",
             "fleet_10": "(d) 10 deployments, one NCC, `--parallel 10`"}
    lines = [
        f"Run of {r['date']} on commit `{r['commit']}`: `{r['command']}` "
        f"(time scale {r['time_scale']}, `PLINK_WAIT_SCALE={r['wait_scale']}`), "
        f"`{r['plink']}` ({r['plink_version']}).",
        f"Machine: {r['machine']['cpus']} CPUs ({r['machine']['cpu_model']}), "
        f"{r['machine']['ram_gib']} GiB RAM, {r['machine']['os']}.",
        "",
        "| scenario | wall s | first→last request s | requests AWS | requests Databricks | requests total "
        "| mutating AWS | mutating Databricks | mutating total |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for key, name in names.items():
        m = s[key]
        q, mu = m["requests"], m["mutating"]
        lines.append(f"| {name} | {m['wall_s']:.2f} | {m['span_s']:.2f} | {q['aws']} | {q['databricks']} "
                     f"| {q['total']} | {mu['aws']} | {mu['databricks']} | {mu['total']} |")
    w = cp["waits_scaled_s"]
    lines += [
        "",
        f"Critical path: {' + '.join(f'{v:.2f}' for v in w.values())} s of waits "
        f"({' + '.join(w)}) + {len(cp['dependent_calls'])} dependent calls × {cp['round_trip_s'] * 1000:.1f} ms "
        f"round trip = **{cp['seconds']:.2f} s**.",
        "",
        "| target (issue 13) | measured | goal | |",
        "|---|--:|--:|---|",
    ]
    for t in r["targets"]:
        value = t["measured"]
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        lines.append(f"| {t['target']} | {shown} | {t['goal']} | {'PASS' if t['pass'] else 'MISS'} |")
    throttled = [t for m in s.values() for t in m["throttled"]]
    st = r["startup"]
    lines += [
        "",
        f"Without start-up (first to last request): fresh `up` / script = "
        f"{s['fresh']['span_s'] / s['sequential']['span_s']:.2f}, fresh `up` / critical path = "
        f"{s['fresh']['span_s'] / cp['seconds']:.2f}.",
        "",
        "Throttling (status 429 or an injected throttle in the call logs, a throttling error in the output): "
        + ("; ".join(throttled) if throttled else "none seen")
        + ". The stack throttles like AWS in every scenario (`bench/limits.py`: EC2's published "
          "buckets, ELBv2's Describe bucket), so 0 here means every request kept within them.",
        "",
        f"Start-up, whole process, {st['version']['runs']} runs (min / median / max): "
        f"`plink --version` {_ms(st['version'])}; `plink validate workflows/s3-privatelink.toml` "
        f"{_ms(st['validate'])}. Peak RSS of the fresh `up`: {s['fresh']['peak_rss_kib'] / 1024:.1f} MiB.",
    ]
    return "\n".join(lines) + "\n"


def _ms(t: dict) -> str:
    return f"{t['min_s'] * 1000:.1f} / {t['median_s'] * 1000:.1f} / {t['max_s'] * 1000:.1f} ms"


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
