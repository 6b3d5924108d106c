"""Process-wide state of the ``judge`` grader on top of ``reward.bedrock_runtime`` (the one polite
Bedrock Runtime caller: client, call pool, retries with jitter): the verdict cache, the models that reject
a forced tool call, and the judge's usage metrics.

- **Client and pool**: ``reward.bedrock_runtime.client`` / ``executor`` (re-exported here), shared with
  every judge dimension, sized to the largest ``concurrency`` any judge dimension asks for.
- **Cache**: a bounded, thread-safe LRU of successful verdicts keyed by a hash of (model, rubric, prompt,
  response, reference). GRPO sends several identical responses per prompt group ("I cannot help with
  that."), and they cost one call.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any

from reward import bedrock_runtime
from reward.bedrock_runtime import (  # re-exported: the judge's names for the shared machinery
    RETRYABLE_CODES,
    THROTTLE_CODES,
    CallFailed,
    backoff_delay,
    call_with_retries,
    client,
    error_code,
    executor,
    region,
)

__all__ = [
    "CACHE",
    "NO_FORCED_TOOL",
    "RETRYABLE_CODES",
    "THROTTLE_CODES",
    "CallFailed",
    "Usage",
    "VerdictCache",
    "backoff_delay",
    "call_with_retries",
    "client",
    "error_code",
    "executor",
    "region",
    "reset",
]

CACHE_SIZE = 4096


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
