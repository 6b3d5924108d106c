"""Process-wide state of the ``judge`` grader on top of ``reward.bedrock_runtime`` (the one polite
Bedrock Runtime caller: client, call pool, retries with jitter): the verdict cache, the models that reject
a forced tool call, and the judge's usage metrics.

- **Client and pool**: ``reward.bedrock_runtime.client`` / ``executor`` (re-exported here), shared with
  every judge dimension, sized to the largest ``concurrency`` any judge dimension asks for.
- **Pacing** (``reward.pacing``): one ``CallGate`` per judge model per process paces every judge call
  (adaptive token bucket, priority by the sample's position), so that the invocations sharing the
  account's quota converge on it; throttles are retried until the batch deadline. ``JUDGE_PACING=off``
  restores fixed attempts and first-come order.
- **Cache**: a bounded, thread-safe LRU of successful verdicts keyed by a hash of (model, rubric, prompt,
  response, reference). GRPO sends several identical responses per prompt group ("I cannot help with
  that."), and they cost one call.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from typing import Any

from reward import bedrock_runtime, pacing
from reward.bedrock_runtime import (  # re-exported: the judge's names for the shared machinery
    RETRYABLE_CODES,
    THROTTLE_CODES,
    CallFailed,
    backoff_delay,
    call_with_retries,
    client,
    error_code,
    executor,
    priority_pool,
    region,
)
from reward.pacing import CallGate, gate

__all__ = [
    "CACHE",
    "NO_FORCED_TOOL",
    "PACING_ENV",
    "RETRYABLE_CODES",
    "THROTTLE_CODES",
    "CallFailed",
    "CallGate",
    "Usage",
    "VerdictCache",
    "backoff_delay",
    "call_with_retries",
    "client",
    "error_code",
    "executor",
    "gate",
    "pacing_on",
    "pool_threads",
    "priority_pool",
    "region",
    "reset",
]

CACHE_SIZE = 4096
#: ``off`` turns pacing off: fixed attempts (throttles count toward ``max_attempts``), ``concurrency``
#: calls in flight, first come first served — the behaviour before pacing, kept for comparison
#: (``benchmarks/bench_judge_fanout.py``) and as an escape hatch. Anything else: paced (the default).
PACING_ENV = "JUDGE_PACING"
#: Paced, the pool has this many threads per call in flight: the extra ones wait for a token (in
#: priority order) or sit out a retry's backoff while the others keep the rate.
THREADS_PER_CALL = 4
MAX_THREADS = 256


def pacing_on() -> bool:
    """Whether the judge paces its calls (``JUDGE_PACING`` is not ``off``)."""
    return os.environ.get(PACING_ENV, "").strip().lower() != "off"


def pool_threads(concurrency: int) -> int:
    """Threads of the paced call pool for ``concurrency`` calls in flight."""
    return min(MAX_THREADS, max(concurrency, THREADS_PER_CALL * concurrency))


class Usage(bedrock_runtime.Usage):
    """What judging one sample cost (mutable: the worker thread adds to it as calls happen)."""

    def metrics(self, *, cached: bool = False) -> dict[str, float]:
        """The ``Grade.metrics`` keys of ``reward.metric_names.JUDGE_DIAGNOSTICS`` (plus the cache flag)."""
        return {
            "judge_calls": float(self.calls),
            "judge_throttles": float(self.throttles),
            "judge_retries": float(self.retries),
            "judge_input_tokens": float(self.input_tokens),
            "judge_output_tokens": float(self.output_tokens),
            "judge_cache_hit": 1.0 if cached else 0.0,
        }


def reset() -> None:
    """Forget clients, pool and cache (tests switch endpoints and regions)."""
    bedrock_runtime.reset()
    pacing.reset()
    CACHE.clear()
    NO_FORCED_TOOL.clear()


#: Models that rejected a forced ``toolChoice`` (ValidationException): asked for JSON text from then on.
NO_FORCED_TOOL: set[str] = set()


# ---------------------------------------------------------------- cache


class VerdictCache:
    """A bounded, thread-safe LRU of successful judgments."""

    def __init__(self, maxsize: int = CACHE_SIZE) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(*parts: Any) -> str:
        blob = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()

    def get(self, key: str) -> Any:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


CACHE = VerdictCache()
