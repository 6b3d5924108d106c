"""Client-side pacing of Bedrock calls: many processes sharing one account quota converge on it.

Each process (one Lambda execution environment = one invocation at a time) paces the calls it sends to a
model with an adaptive token bucket, the design of botocore's ``adaptive`` retry mode
(``botocore/retries/adaptive.py``, ``throttling.py``, ``bucket.py``):

- **Unlimited until the first throttle**, then a token bucket whose fill rate follows CUBIC: on a throttle
  the rate drops to ``beta`` (0.7) x the rate it was sending at, then grows back along
  ``w_max * (1 + scale * (t - k)**3)`` (``k``: the time to get back to ``w_max``; botocore's cubic is
  absolute, see ``SCALE``), and never above twice the rate actually measured (a client that is not using its rate does not bank it).
- Four changes from botocore, for many clients behind one quota: **one decrease per reaction**, i.e. a
  throttle of a call sent *before* the last decrease is ignored (it says nothing new; botocore compounds
  one decrease per throttle, so a burst of 16 throttles divides the rate by 300) unless ``OVERWHELMED``;
  a **relative cubic** (``SCALE``); a **lower floor**,
  ``MIN_RATE_PER_S`` (botocore: 0.5 req/s, so 40 invocations could never go below 20 req/s together);
  and a **tolerance**: while under ``THROTTLE_TOLERANCE`` of the last ``TOLERANCE_EVIDENCE``+ answers
  were throttles, a throttle is retried without slowing down (a quota's throttle share grows with the
  rate sent; throttles that do not depend on the rate would otherwise drag the rate to the floor).
- ``CallGate`` adds the threads: callers wait for a token in order of a priority (the judge passes the
  sample's position in the batch, so the two calls of a sample go together and a batch that runs out of
  time leaves whole samples unjudged rather than half of every sample), at most ``max_in_flight`` calls
  in flight, and a caller that gets no token before its deadline (minus a call's duration) is told so.

``RateController`` is the arithmetic alone, with the clock passed in (tests drive it with a fake clock).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable

#: Lowest pacing rate, calls per second (botocore: 0.5).
MIN_RATE_PER_S = 0.05
BETA = 0.7  # multiplicative decrease on a throttle (botocore's CubicCalculator._BETA)
#: CUBIC's C relative to the rate at the last throttle: rate(t) = w_max * (1 + SCALE * (t - k)**3). botocore's
#: C is absolute (0.4 calls/s per s**3): at the 0.3 calls/s an invocation gets when 24 share 8 req/s, that
#: triples the rate 2 s after a throttle. Relative, the curve is the same for every rate, and 0.04 x 10 calls/s
#: equals botocore's 0.4; k = cbrt((1 - beta) / SCALE) = 2 s whatever the rate.
SCALE = 0.04
#: The window over which the sending rate is measured, seconds.
MEASURE_WINDOW_S = 2.0
MAX_RATE_SCALE = 2.0  # the rate never exceeds this x the measured rate (botocore: _MAX_RATE_ADJUST_SCALE)
#: A throttle is not a signal to slow down while fewer than this share of the calls answered in the last
#: ``MEASURE_WINDOW_S`` were throttled, given at least ``TOLERANCE_EVIDENCE`` answers: a quota shows as a
#: share of throttles that grows with the rate, a few throttles spread over many answers do not.
THROTTLE_TOLERANCE = 1 / 3
TOLERANCE_EVIDENCE = 12
#: ... and while at least this share were throttles (e.g. the burst of a cold start against a quota already
#: in use), every throttle counts, as in botocore: one decrease per reaction would take a dozen rounds.
OVERWHELMED = 0.9
LATENCY_SMOOTHING = 0.2  # weight of a new call's latency in the running estimate


class RateController:
    """The pacing arithmetic (no threads, no sleeping): a CUBIC-controlled token bucket.

    ``rate`` is ``None`` while unlimited (before the first throttle). Times are the caller's clock.
    """

    def __init__(self, *, min_rate: float = MIN_RATE_PER_S, beta: float = BETA, scale: float = SCALE) -> None:
        self.min_rate = min_rate
        self.beta = beta
        self.scale = scale
        self.rate: float | None = None
        self.tokens = 0.0
        self._w_max = 0.0
        self._k = 0.0
        self._last_fail = 0.0
        self._last_decrease = float("-inf")
        self._last_refill: float | None = None
        self._sent: deque[float] = deque()
        self._sending_since = 0.0
        self._answers: deque[tuple[float, bool]] = deque()  # (when, throttled) over the window

    # ---------------------------------------------------------- the bucket

    def _refill(self, now: float) -> None:
        if self.rate is None:
            return
        if self._last_refill is not None and now > self._last_refill:
            self.tokens = min(self.capacity, self.tokens + (now - self._last_refill) * self.rate)
        self._last_refill = now if self._last_refill is None else max(now, self._last_refill)

    @property
    def capacity(self) -> float:
        """Tokens the bucket holds at most: one second's worth, at least one (as botocore)."""
        return max(1.0, self.rate or 1.0)

    def wait_s(self, now: float) -> float:
        """Seconds until a token is available (0: now)."""
        if self.rate is None:
            return 0.0
        self._refill(now)
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        """Spend a token (call ``wait_s`` first) and record the send."""
        self._refill(now)
        if self.rate is not None:
            self.tokens -= 1.0
        if not self._sent or self._sent[-1] <= now - MEASURE_WINDOW_S:
            self._sending_since = now  # first send after an idle window
        self._sent.append(now)

    def measured_rate(self, now: float) -> float:
        """Calls sent per second over the last ``MEASURE_WINDOW_S`` (over the time since the first of
        them, at least 0.2 s, when sending started more recently: a burst at start is a high rate)."""
        while self._sent and self._sent[0] <= now - MEASURE_WINDOW_S:
            self._sent.popleft()
        if not self._sent:
            return 0.0
        span = (
            MEASURE_WINDOW_S if self._sending_since <= now - MEASURE_WINDOW_S else now - self._sending_since
        )
        return len(self._sent) / max(0.2, span)

    def answered_rate(self, now: float) -> float:
        """Calls answered (not throttled) per second over the window (over the time sending, if shorter)."""
        ok = sum(1 for when, throttled in self._answers if not throttled and when > now - MEASURE_WINDOW_S)
        span = (
            MEASURE_WINDOW_S if self._sending_since <= now - MEASURE_WINDOW_S else now - self._sending_since
        )
        return ok / max(0.2, span)

    def _answered(self, now: float, throttled: bool) -> float:
        """Record an answer; the share of throttles among the window's answers (1.0 without evidence)."""
        self._answers.append((now, throttled))
        while self._answers and self._answers[0][0] <= now - MEASURE_WINDOW_S:
            self._answers.popleft()
        if len(self._answers) < TOLERANCE_EVIDENCE:
            return 1.0
        return sum(t for _, t in self._answers) / len(self._answers)

    # ---------------------------------------------------------- the rate

    def on_success(self, now: float) -> None:
        """A call was answered (not throttled): grow along the cubic, within 2x the measured rate."""
        self._answered(now, False)
        if self.rate is None:
            return
        grown = self._w_max * (1.0 + self.scale * (now - self._last_fail - self._k) ** 3)
        cap = MAX_RATE_SCALE * max(self.measured_rate(now), self.min_rate)
        self._set_rate(min(grown, cap), now)

    def on_throttle(self, sent_at: float, now: float) -> bool:
        """A call sent at ``sent_at`` was throttled: decrease once per reaction. True if it decreased."""
        share = self._answered(now, True)
        if sent_at < self._last_decrease and share < OVERWHELMED:
            return False  # sent before we last slowed down: already answered for
        if share < THROTTLE_TOLERANCE:
            return False  # a few throttles among many answers: not the quota
        measured = self.measured_rate(now)
        current = measured if self.rate is None else min(measured, self.rate)
        current = max(current, self.min_rate)
        self._w_max = current
        self._k = ((1 - self.beta) / self.scale) ** (1 / 3)
        self._last_fail = now
        self._last_decrease = now
        self._set_rate(current * self.beta, now)
        return True

    def _set_rate(self, value: float, now: float) -> None:
        self._refill(now)  # tokens so far accrue at the old rate
        if self.rate is None:
            self._last_refill = now
            self.tokens = 0.0
        self.rate = max(self.min_rate, value)
        self.tokens = min(self.tokens, self.capacity)


class CallGate:
    """One process's gate for the calls to one quota: tokens (``RateController``), in-flight limit,
    priority order, deadlines. Thread-safe."""

    def __init__(
        self,
        *,
        max_in_flight: int,
        clock: Callable[[], float] = time.monotonic,
        controller: RateController | None = None,
    ) -> None:
        self.max_in_flight = max_in_flight
        self.clock = clock
        self.controller = controller or RateController()
        self.in_flight = 0
        self.latency_s = (
            0.0  # running estimate of an answered call's duration (the reserve before a deadline)
        )
        self.calls = 0
        self.throttles = 0
        self._cond = threading.Condition()
        self._waiting: list[tuple[float, int]] = []
        self._seq = itertools.count()

    @property
    def rate(self) -> float | None:
        """The current pacing rate, calls per second (None: not limited yet)."""
        return self.controller.rate

    def enter(self, priority: float = 0.0, deadline: float | None = None) -> float | None:
        """Wait for this caller's turn (lowest ``priority`` first, then arrival) and a token; return the
        send instant, or None when the call could not be sent and answered before ``deadline``. A caller
        that got an instant must call ``leave``."""
        with self._cond:
            entry = (priority, next(self._seq))
            heapq.heappush(self._waiting, entry)
            try:
                while True:
                    now = self.clock()
                    latest = None if deadline is None else deadline - self.latency_s
                    if latest is not None and now >= latest:
                        return None
                    wait: float | None = None
                    if self._waiting[0] == entry and self.in_flight < self.max_in_flight:
                        wait = self.controller.wait_s(now)
                        if wait <= 0.0:
                            self.controller.take(now)
                            self.in_flight += 1
                            self.calls += 1
                            return now
                    if latest is not None:
                        wait = latest - now if wait is None else min(wait, latest - now)
                    self._cond.wait(wait)
            finally:
                self._waiting.remove(entry)
                heapq.heapify(self._waiting)
                self._cond.notify_all()

    def leave(self, sent_at: float, outcome: str) -> None:
        """A call sent at ``sent_at`` ended: ``ok`` (answered), ``throttled``, ``failed`` (no news
        about the quota: a network error, a 5xx) or ``unsent`` (its caller gave up after its turn came)."""
        with self._cond:
            now = self.clock()
            self.in_flight -= 1
            if outcome == "ok":
                took = max(0.0, now - sent_at)
                self.latency_s = (
                    took
                    if not self.latency_s
                    else self.latency_s + LATENCY_SMOOTHING * (took - self.latency_s)
                )
                self.controller.on_success(now)
            elif outcome == "throttled":
                self.throttles += 1
                self.controller.on_throttle(sent_at, now)
            self._cond.notify_all()


# ---------------------------------------------------------------- one gate per model, per process

_gates: dict[str, CallGate] = {}
_gates_lock = threading.Lock()


def gate(model: str, *, max_in_flight: int) -> CallGate:
    """The process's gate for ``model`` (created on first use; the in-flight limit grows to the largest
    asked for). The rate it learned carries over to the next invocation of a warm Lambda."""
    with _gates_lock:
        found = _gates.get(model)
        if found is None:
            found = _gates[model] = CallGate(max_in_flight=max_in_flight)
        elif found.max_in_flight < max_in_flight:
            found.max_in_flight = max_in_flight
        return found


def gates() -> dict[str, CallGate]:
    """The gates of this process by model (for metrics)."""
    with _gates_lock:
        return dict(_gates)


def current_rate() -> float:
    """The lowest pacing rate of this process's gates, calls per second; 0.0 when none is pacing yet."""
    rates = [g.rate for g in gates().values() if g.rate is not None]
    return min(rates) if rates else 0.0


def reset() -> None:
    """Forget every gate (tests switch endpoints)."""
    with _gates_lock:
        _gates.clear()
