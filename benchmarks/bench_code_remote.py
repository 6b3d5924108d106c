#!/usr/bin/env python3
"""The deployed path of the ``code`` grader: ``reward.code_remote.invoke_runner`` against the Lambda Invoke
emulator, with a runner that takes a fixed time per job.

    python benchmarks/bench_code_remote.py                      # ~20 s: 64 jobs at 200 ms per job
    python benchmarks/bench_code_remote.py --jobs 128 --job-latency 0.2 --hostile 0.1

boto3 signs, sends and parses real Invoke requests to ``tests/lambda_emulator.py`` (127.0.0.1). The
emulated runner answers a chunk after ``ceil(jobs / 2) * job_latency`` (two programs at a time, as the
runner does on ~1 vCPU) plus ``--invoke-latency`` per invocation. What is measured is the client: how
well it fans out, what retries and culprit hunts cost — not Lambda's real latency.

- baseline: the whole batch in one invocation (no fan-out: what a runner without Lambda scale-out does);
- ours: ``invoke_runner`` defaults (16 invocations in flight, chunks of at most 8);
- ours with ``--hostile`` of the jobs crashing the runner (function error): every culprit found and
  failed, the others graded; invocations and wall time reported;
- ours with ``--throttle`` of invocations throttled (429): all jobs still answered.

Printed, not asserted (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "lambda_src")]

from reward.code_remote import invoke_runner, make_client  # noqa: E402
from tests.lambda_emulator import (  # noqa: E402
    fake_runner,
    function_error,
    running_lambda,
    service_error,
)

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:bench-runner:1"


def request(jobs: int, hostile: float, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    hostile_ids = set(rng.sample(range(jobs), round(jobs * hostile)))
    return {
        "version": 1,
        "jobs": [
            {
                "id": f"s{i}",
                "language": "python",
                "program": "HOSTILE" if i in hostile_ids else "PASS",
                "format": "function",
                "entry_point": "f",
                "tests": [{"args": [1], "kwargs": {}, "expected": 1}] * 3,
                "limits": {},
            }
            for i in range(jobs)
        ],
    }


def behaviour(job_latency: float, invoke_latency: float, throttle: float, seed: int = 11) -> Any:
    rng = random.Random(seed)
    lock = threading.Lock()

    def answer(event: Any) -> Any:
        with lock:
            throttled = rng.random() < throttle
        if throttled:
            return service_error(429, "TooManyRequestsException", "Rate Exceeded.")
        time.sleep(invoke_latency + math.ceil(len(event["jobs"]) / 2) * job_latency)
        if any(job["program"] == "HOSTILE" for job in event["jobs"]):
            return function_error("Runtime.ExitError", "Runtime exited with error: signal: killed")
        return 200, {}, json.dumps(fake_runner(event)).encode()

    return answer


def measure(server: Any, client: Any, label: str, req: dict[str, Any], **kwargs: Any) -> None:
    server.requests.clear()
    start = time.perf_counter()
    reply = invoke_runner(req, function=FUNCTION, deadline=None, client=client, **kwargs)
    wall = time.perf_counter() - start
    statuses: dict[str, int] = {}
    for result in reply["results"]:
        key = "culprit" if "broke the code runner" in result["reason"] else result["status"]
        key = "passed" if key == "ok" and result["passed"] == result["total"] else key
        statuses[key] = statuses.get(key, 0) + 1
    jobs = len(req["jobs"])
    print(
        f"{label:<44} {wall:7.2f} s  {jobs / wall:8.1f} jobs/s  {len(server.requests):4d} invocations  "
        + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=64)
    parser.add_argument("--job-latency", type=float, default=0.2, help="seconds per job in the runner")
    parser.add_argument("--invoke-latency", type=float, default=0.05, help="seconds per invocation")
    parser.add_argument("--hostile", type=float, default=0.1, help="fraction of jobs that crash the runner")
    parser.add_argument("--throttle", type=float, default=0.3, help="fraction of invocations throttled")
    args = parser.parse_args()
    os.environ.update(
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
    )
    with running_lambda() as server:
        os.environ["AWS_ENDPOINT_URL_LAMBDA"] = server.url
        client = make_client()  # created once, as in the Lambda (its creation is not what is measured)
        clean = request(args.jobs, 0.0)
        server.behaviour = behaviour(args.job_latency, args.invoke_latency, 0.0)
        print(f"{args.jobs} jobs, {args.job_latency * 1000:.0f} ms per job, 2 at a time per invocation\n")
        measure(
            server, client, "baseline: one invocation for the batch", clean, max_parallel=1, chunk_size=10**6
        )
        measure(server, client, "ours: invoke_runner defaults", clean)
        hostile = request(args.jobs, args.hostile)
        measure(server, client, f"ours, {args.hostile:.0%} of jobs crash the runner", hostile)
        server.behaviour = behaviour(args.job_latency, args.invoke_latency, args.throttle)
        measure(server, client, f"ours, {args.throttle:.0%} of invocations throttled", clean)
        server.behaviour = behaviour(0.0, 0.0, 0.0)
        measure(server, client, "client overhead: instant runner, defaults", clean)
        measure(
            server,
            client,
            "client overhead: instant runner, 1 job/call",
            clean,
            chunk_size=1,
            max_parallel=16,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
