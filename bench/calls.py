"""What a scenario asked of the clouds, read from the stack's call logs (one per port).

Every logged entry is one HTTP request that reached an emulator, retries included; control routes
(`/_plink/*`) are never logged. `mutating` is the stack's own flag: AWS Create*/Delete*/Modify*/
Register*/Accept*/Authorize*/... actions, and on Databricks every non-GET request except the OAuth
token endpoint (localstack/plink_stack/faults.py).
"""
from __future__ import annotations

import re

# How a throttled answer is named in a client's output (AWS EC2, ELBv2/STS, S3; Databricks; HTTP).
# A status 429 is read from the call logs, not from output, where a bare "429" could be anything.
THROTTLE_WORDS = re.compile(r"RequestLimitExceeded|Throttl|Rate exceeded|SlowDown|REQUEST_LIMIT_EXCEEDED"
                            r"|Too Many Requests")


def summary(calls: dict[str, list[dict]], output: str) -> dict:
    """Requests and mutating requests per cloud, the span from the first to the last request, and
    any throttling seen in the call logs (status 429, an injected throttle) or in the output."""
    aws, databricks = calls["aws"], calls["databricks"]
    every = aws + databricks
    times = [c["t"] for c in every]
    throttled = [f"{c['service']} {c['action']}: {c['status']}" for c in every
                 if c["status"] == 429 or c.get("fault") in ("http_429", "aws_throttle")]
    throttled += [f"output: {line.strip()}" for line in output.splitlines() if THROTTLE_WORDS.search(line)]
    return {
        "requests": {"aws": len(aws), "databricks": len(databricks), "total": len(every)},
        "mutating": {"aws": sum(c["mutating"] for c in aws), "databricks": sum(c["mutating"] for c in databricks),
                     "total": sum(c["mutating"] for c in every)},
        "span_s": max(times) - min(times) if times else 0.0,
        "throttled": throttled,
    }


def by_action(calls: dict[str, list[dict]]) -> dict[str, int]:
    """Request count per action (AWS) or method + path (Databricks, ids replaced by `{id}`)."""
    counts: dict[str, int] = {}
    for c in calls["aws"] + calls["databricks"]:
        name = c["action"] if c["service"] != "databricks" else _generic_path(c["action"])
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _generic_path(action: str) -> str:
    # Account ids and NCC/rule UUIDs, workspace ids: whatever makes two calls of one API differ.
    return re.sub(r"/[0-9a-f]{8}-[0-9a-f-]{27}|/\d{6,}", "/{id}", action)
