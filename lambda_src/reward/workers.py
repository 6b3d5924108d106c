"""Worker processes for CPU-heavy graders, with hard per-sample time limits.

Parsing what a model writes with sympy / math-verify can hang inside C code where no signal reaches it
(Math-Verify issue #65: ``\\boxed{\\dfrac{5^{(5^{(5^{5^5})} - 4)} - 5}{16}}``). So heavy dimensions are graded
in worker processes that the parent kills (SIGKILL) and replaces when a sample overruns its budget.

- Built on ``multiprocessing.Process`` + ``Pipe`` only: Lambda has no ``/dev/shm``, so ``Pool`` and
  ``Queue`` (which need POSIX semaphores) fail there.
- Started lazily on the first heavy batch and reused across samples and invocations (a module-level pool,
  ``get_pool()``); as many workers as the function has vCPUs (``REWARD_WORKERS`` overrides; ``0`` grades
  inline, without hard limits).
- Start method: ``fork`` on Linux when the parent runs a single thread (forking a threaded process can
  copy a held lock), else ``spawn``. Before forking, the parent imports and exercises the heavy graders
  (``Grader.warm()``) so every worker, and every replacement of a killed one, starts warm in milliseconds.
- A worker receives each spec once, as its validated table (not only a path: it then grades with exactly
  what the parent validated, even for a spec built in memory or a file changed on disk), rebuilds the
  graders itself, and then answers ``(sample, dimension indices)`` requests.
- A sample gets ``timeout`` when its budget runs out (worker killed and replaced), ``error`` when its
  worker dies (segfault, OOM kill, ``os._exit``; worker replaced, the batch goes on), and ``deadline``
  when the batch deadline arrives first (workers still busy are killed so the reply leaves in time). A
  sample still being graded at the deadline after using half its budget or more gets ``timeout``
  instead: it is the slow one, and a response must not escape its grade by being slow.

Protocol integrity (docs/time-limits.md): every ``grade`` request carries a token, ``(session, key)``,
unique to one ``WorkerPool.grade`` call; a worker echoes it and the parent accepts a result only for the
job it is waiting for on that worker, in that session, so a late answer can never be taken for another
batch's sample. Any exception while sending, receiving or decoding is that sample's ``error`` (never the
session's): the pool's bookkeeping survives, and a worker whose state is uncertain is killed and
replaced. A session that ends for any reason kills the workers still busy with its jobs, so the next
batch never meets a worker that owes an answer to someone else.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing import connection, get_context
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any

from reward.event import Sample
from reward.results import Grade, InfrastructureError, Status
from reward.sample_grading import grade_dimensions_unsettled
from reward.spec import Spec

logger = logging.getLogger("reward.workers")

_IN_WORKER = False
_MAX_START_FAILURES = 3  # consecutive workers dying before they report ready: stop trying this batch
_SESSIONS = itertools.count(1)  # one id per WorkerPool.grade call, carried by every job and result


def in_worker() -> bool:
    """True inside a worker process (graders may then skip their own soft timeouts)."""
    return _IN_WORKER


def default_size() -> int:
    """``REWARD_WORKERS`` if set, else the vCPUs this process may run on."""
    raw = os.environ.get("REWARD_WORKERS", "").strip()
    if raw:
        try:
            return max(0, int(raw))
        except ValueError:
            logger.warning("REWARD_WORKERS=%r is not an integer; using the vCPU count", raw)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_start_method() -> str:
    """``fork`` where it is safe (Linux, one thread), else ``spawn``."""
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return "fork"
    return "spawn"


# --- messages between parent and worker --------------------------------------------------------------
# parent -> worker: ("spec", key, path, table) | ("grade", token, key, sample, dims) | ("stop",)
# worker -> parent: ("ready", pid) | ("spec_ok", key, error) | ("done", token, grades)
# ``token`` is ``(session id, job key)``: a result is accepted only by the session and job it names.


def spec_table(spec: Spec) -> dict[str, Any]:
    """The spec as the TOML table it was validated from (enough for ``parse_spec`` to rebuild it)."""
    dimensions = []
    for d in spec.dimensions:
        raw: dict[str, Any] = {
            "name": d.name,
            "grader": d.grader,
            "weight": d.weight,
            "params": dict(d.params),
            "pass_at": d.pass_at,
            "veto": d.veto,
            "on_error": d.on_error,
        }
        if d.gate is not None:
            raw["gate"] = d.gate
        dimensions.append(raw)
    return {
        "name": spec.name,
        "description": spec.description,
        "on_error": spec.on_error,
        "max_response_chars": spec.max_response_chars,
        "control_template": spec.control_template,
        **({"answer_after": spec.answer_after} if spec.answer_after else {}),
        "sample_timeout_s": spec.sample_timeout_s,
        "deadline_margin_s": spec.deadline_margin_s,
        "dimensions": dimensions,
    }


def spec_key(table: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(table, sort_keys=True, default=repr).encode()).hexdigest()[:16]


def _grade_dims_in_worker(spec: Spec, sample: Sample, dims: Sequence[int]) -> list[Any]:
    """What the graders answered, unsettled: the runner decides who pays (``reward.sample_grading``)."""
    return grade_dimensions_unsettled(spec, sample, dims)


def _worker_main(conn: connection.Connection) -> None:
    """The worker's loop: load specs, grade requests, until the pipe closes."""
    global _IN_WORKER
    _IN_WORKER = True
    from reward.spec import parse_spec

    specs: dict[str, Spec | str] = {}
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        kind = message[0]
        if kind == "stop":
            return
        if kind == "spec":
            _, key, path, table = message
            error = ""
            try:
                spec = parse_spec(table, Path(path))
                for grader in spec.graders:
                    if grader.heavy and hasattr(grader, "warm"):
                        grader.warm()
                specs[key] = spec
            except Exception as exc:  # reported per sample: the parent validated this spec already
                error = f"{type(exc).__name__}: {str(exc)[:300]}"
                specs[key] = error
            conn.send(("spec_ok", key, error))
        elif kind == "grade":
            _, token, key, sample, dims = message
            loaded = specs.get(key)
            if isinstance(loaded, Spec):
                grades = _grade_dims_in_worker(loaded, sample, dims)
            else:
                # ours, not the response's: the parent loaded this very spec
                grades = [InfrastructureError(f"worker could not load the spec: {loaded}")] * len(dims)
            try:
                payload = ForkingPickler.dumps(("done", token, grades))
            except Exception as exc:  # e.g. a custom grader's metrics that cannot be pickled
                reason = f"the grade could not be sent back: {type(exc).__name__}: {str(exc)[:200]}"
                payload = ForkingPickler.dumps(("done", token, [Grade.error(reason)] * len(dims)))
            conn.send_bytes(payload)


# --- the pool ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeavyJob:
    """One sample's heavy dimensions, graded in one request under one budget."""

    key: int  # the caller's id for the result (the sample's position in the batch)
    sample: Sample
    dims: tuple[int, ...]  # indices into spec.dimensions
    budget_s: float
    retried: bool = False  # a worker died grading it once already (a second death is the input's doing)


def encode_job(token: tuple[int, int], spec_key_: str, job: HeavyJob) -> tuple[memoryview, str]:
    """The pickled ``grade`` request, and a note when the sample had to be slimmed to travel.

    A sample that cannot be pickled (e.g. ``metadata`` nested hundreds of levels deep: pickle recurses)
    is sent without its extra metadata, keeping the prompt, the response and the reference, which is all
    a built-in heavy grader reads. If even that cannot be pickled (the reference itself is the problem),
    this raises what the first attempt raised and the caller grades the sample ``error``.
    """
    try:
        return ForkingPickler.dumps(("grade", token, spec_key_, job.sample, job.dims)), ""
    except Exception as exc:
        first = exc
    slim = replace(job.sample, metadata={"reference_answer": job.sample.reference})
    try:
        payload = ForkingPickler.dumps(("grade", token, spec_key_, slim, job.dims))
    except Exception:
        raise first from None
    return payload, f"sent without its metadata ({type(first).__name__})"


@dataclass
class _Worker:
    process: Any
    conn: connection.Connection
    started: float
    ready: bool = False
    specs: set[str] = field(default_factory=set)
    loading: str | None = None  # spec key sent, not yet acknowledged
    job: HeavyJob | None = None
    token: tuple[int, int] | None = None  # (session, key) of ``job``: the only result accepted
    expires: float = 0.0

    @property
    def pid(self) -> int:
        return self.process.pid


class WorkerPool:
    """A fixed-size set of worker processes; ``grade`` runs heavy jobs on them under hard time limits."""

    def __init__(self, size: int | None = None, start_method: str | None = None) -> None:
        self.size = default_size() if size is None else max(0, size)
        self.start_method = start_method
        self._workers: list[_Worker] = []
        self._warmed: set[str] = set()
        self.started_total = 0  # workers ever started (replacements included)
        self.last_start_s = 0.0  # how long the last worker took from start() to "ready"

    # -- lifecycle -------------------------------------------------------------------------------------
    def pids(self) -> list[int]:
        return [w.pid for w in self._workers]

    def _method(self) -> str:
        return self.start_method or default_start_method()

    def _start_worker(self) -> _Worker:
        ctx: Any = get_context(self._method())  # typeshed's BaseContext lacks the start methods' Process
        parent_end, child_end = ctx.Pipe(duplex=True)
        process = ctx.Process(target=_worker_main, args=(child_end,), name="reward-worker", daemon=True)
        process.start()
        child_end.close()  # else the parent never sees EOF when the worker dies
        worker = _Worker(process, parent_end, time.monotonic())
        self._workers.append(worker)
        self.started_total += 1
        return worker

    def _kill(self, worker: _Worker) -> None:
        with contextlib.suppress(ProcessLookupError, TypeError):
            os.kill(worker.pid, signal.SIGKILL)
        worker.process.join(timeout=2)
        worker.conn.close()
        if worker in self._workers:
            self._workers.remove(worker)

    def _reap(self, worker: _Worker) -> str:
        """Forget a dead worker; describe how it died."""
        worker.process.join(timeout=2)
        code = worker.process.exitcode
        worker.conn.close()
        if worker in self._workers:
            self._workers.remove(worker)
        if code is None:
            return "closed its pipe"
        if code < 0:
            try:
                return f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"was killed by signal {-code}"
        return f"exited with code {code}"

    def close(self) -> None:
        """Stop every worker (tests and benchmarks; the Lambda keeps them for the next invocation)."""
        for worker in list(self._workers):
            self._kill(worker)

    def warm(self, spec: Spec) -> None:
        """Import the heavy graders' dependencies in the parent, so forked workers start warm."""
        for grader in spec.graders:
            if grader.heavy and hasattr(grader, "warm") and grader.name not in self._warmed:
                try:
                    grader.warm()
                except Exception as exc:  # the worker will report the real error per sample
                    logger.warning("warming grader %s failed: %s", grader.name, exc)
                self._warmed.add(grader.name)

    def start(self, spec: Spec | None = None) -> None:
        """Bring the pool to its size (warming ``spec``'s graders first when forking)."""
        if spec is not None and self._method() == "fork":
            self.warm(spec)
        for worker in list(self._workers):
            if not worker.process.is_alive():
                self._reap(worker)
        while len(self._workers) < self.size:
            self._start_worker()

    # -- grading ---------------------------------------------------------------------------------------
    def grade(
        self,
        spec: Spec,
        jobs: Iterable[HeavyJob],
        *,
        deadline: float | None = None,
        between: Callable[[], bool] | None = None,
    ) -> dict[int, list[Grade]]:
        """Grades for every job, keyed by ``job.key``; never raises for what a sample contains.

        ``between`` is called while workers are busy (the runner grades light dimensions there); it
        returns False once it has nothing left to do.
        """
        session = _Session(self, spec, list(jobs), deadline)
        return session.run(between)


class _Session:
    """One ``WorkerPool.grade`` call: dispatch, collect, enforce budgets and the deadline."""

    def __init__(self, pool: WorkerPool, spec: Spec, jobs: list[HeavyJob], deadline: float | None) -> None:
        self.pool = pool
        self.spec = spec
        self.table = spec_table(spec)
        self.key = spec_key(self.table)
        self.path = str(spec.path)
        self.pending: deque[HeavyJob] = deque(jobs)
        self.deadline = deadline
        self.results: dict[int, list[Grade]] = {}
        self.start_failures = 0
        self.id = next(_SESSIONS)

    def run(self, between: Callable[[], bool] | None) -> dict[int, list[Grade]]:
        """Every job's grades; whatever happens, no worker leaves this call owing an answer."""
        try:
            self._clear_leftovers()
            self._run(between)
        except Exception as exc:  # a bug here must cost this batch's heavy grades, never the next batch's
            logger.exception("worker session failed")
            self._give_up(f"worker pool failed: {type(exc).__name__}: {str(exc)[:200]}")
        finally:
            self._abandon_busy()
        return self.results

    def _clear_leftovers(self) -> None:
        """Kill workers still busy with another session's job (an earlier call that ended abnormally)."""
        for worker in list(self.pool._workers):
            if worker.job is not None:
                logger.warning("reward worker %s was still busy with an abandoned job; replaced", worker.pid)
                self.pool._kill(worker)

    def _abandon_busy(self) -> None:
        """Kill workers still grading this session's jobs (their answers would arrive to nobody)."""
        for worker in list(self.pool._workers):
            if worker.job is not None:
                job = worker.job
                self.pool._kill(worker)
                self.results.setdefault(job.key, [Grade.error("grading was abandoned")] * len(job.dims))
        while self.pending:
            job = self.pending.popleft()
            self.results.setdefault(job.key, [Grade.error("grading was abandoned")] * len(job.dims))

    def _run(self, between: Callable[[], bool] | None) -> None:
        pool = self.pool
        if self.pending:
            pool.start(self.spec)
        while self.pending or any(w.job for w in pool._workers):
            now = time.monotonic()
            if self.deadline is not None and now >= self.deadline:
                self._deadline_reached()
                break
            if self.start_failures >= _MAX_START_FAILURES:
                self._give_up("worker processes die before they are ready")
                break
            self._dispatch(now)
            if between is not None and between():
                self._collect(0.0)
                continue
            between = None
            self._collect(self._wait_time())

    # workers that owe us a message (starting, loading a spec, grading)
    def _busy(self) -> list[_Worker]:
        return [w for w in self.pool._workers if not w.ready or w.loading or w.job]

    def _dispatch(self, now: float) -> None:
        for worker in list(self.pool._workers):
            if not self.pending:
                return
            if not worker.ready or worker.loading or worker.job:
                continue
            if not worker.process.is_alive():  # died while idle (e.g. OOM between invocations)
                self.pool._reap(worker)
                self.pool._start_worker()
                continue
            if self.key not in worker.specs:
                if self._send(worker, ("spec", self.key, self.path, self.table)):
                    worker.loading = self.key
                continue
            job = self.pending.popleft()
            token = (self.id, job.key)
            try:
                payload, note = encode_job(token, self.key, job)
            except Exception as exc:  # nothing was written: the worker stays idle and clean
                self._finish(job, Grade.error(f"the sample cannot be sent to a worker: {_describe(exc)}"))
                continue
            if note:
                logger.warning("sample %r %s", job.sample.id, note)
            if not self._send(worker, payload):
                self._finish(job, Grade.error("the sample could not be sent to a worker; worker replaced"))
                continue
            worker.job, worker.token = job, token
            worker.expires = now + job.budget_s

    def _send(self, worker: _Worker, message: object) -> bool:
        """Write to a worker; on any failure the worker (its pipe now in an unknown state) is replaced."""
        try:
            if isinstance(message, (bytes, bytearray, memoryview)):
                worker.conn.send_bytes(message)
            else:
                worker.conn.send(message)
            return True
        except Exception as exc:
            logger.warning("sending to reward worker %s failed: %s", worker.pid, _describe(exc))
            self.pool._kill(worker)
            self.pool._start_worker()
            return False

    def _wait_time(self) -> float:
        now = time.monotonic()
        limits = [w.expires for w in self.pool._workers if w.job]
        if self.deadline is not None:
            limits.append(self.deadline)
        if not limits:
            return 1.0
        return max(0.0, min(limits) - now)

    def _collect(self, timeout: float) -> None:
        by_conn = {w.conn: w for w in self._busy()}
        if by_conn:
            for conn in connection.wait(list(by_conn), timeout):
                self._receive(by_conn[conn])  # type: ignore[index]  # wait returns the objects given
        elif timeout:
            time.sleep(min(timeout, 0.01))
        now = time.monotonic()
        for worker in list(self.pool._workers):
            if worker.job is not None and now >= worker.expires:
                job = worker.job
                self.pool._kill(worker)
                self._finish(job, Grade.timeout(f"grading took over {job.budget_s:g} s; worker killed"))
                self.pool._start_worker()

    def _receive(self, worker: _Worker) -> None:
        try:
            message = worker.conn.recv()
        except (EOFError, OSError, ConnectionError):
            how = self.pool._reap(worker)
            if worker.job is not None and not worker.job.retried:
                # Once may be bad luck (ours); the same sample killing a fresh worker again is the input.
                logger.warning("reward worker %s %s while grading; retrying the sample once", worker.pid, how)
                self.pending.appendleft(replace(worker.job, retried=True))
            elif worker.job is not None:
                self._finish(
                    worker.job,
                    Grade.unscorable(
                        f"grading this response killed a worker twice (it {how}): charged to the response"
                    ),
                )
            elif not worker.ready:
                self.start_failures += 1
                logger.error("reward worker %s %s before it was ready", worker.pid, how)
            self.pool._start_worker()
            return
        except Exception as exc:  # a message that cannot be decoded: this worker's state is unknown
            logger.error("reward worker %s sent an unreadable message: %s", worker.pid, _describe(exc))
            job = worker.job
            self.pool._kill(worker)
            if job is not None:
                self._finish(job, Grade.error(f"the worker's reply could not be read: {_describe(exc)}"))
            self.pool._start_worker()
            return
        if not isinstance(message, tuple) or not message:
            logger.error("reward worker %s sent %r; ignored", worker.pid, type(message).__name__)
            return
        kind = message[0]
        if kind == "ready":
            worker.ready = True
            self.pool.last_start_s = time.monotonic() - worker.started
            self.start_failures = 0
        elif kind == "spec_ok":
            worker.specs.add(message[1])
            worker.loading = None
            if message[2]:
                logger.error("reward worker %s could not load the spec: %s", worker.pid, message[2])
        elif kind == "done" and len(message) == 3:
            if worker.job is None or message[1] != worker.token:
                # Another session's (or another job's) answer: never anyone's grade.
                logger.warning(
                    "reward worker %s answered %r, not the job it holds; discarded", worker.pid, message[1]
                )
                return
            job, worker.job, worker.token = worker.job, None, None
            grades = message[2]
            if not isinstance(grades, list) or len(grades) != len(job.dims):
                grades = [Grade.error("worker returned a malformed result")] * len(job.dims)
            self.results[job.key] = grades

    def _finish(self, job: HeavyJob, grade: Grade) -> None:
        self.results[job.key] = [grade] * len(job.dims)

    def _deadline_reached(self) -> None:
        now = time.monotonic()
        for worker in list(self.pool._workers):
            if worker.job is not None:
                job = worker.job
                self.pool._kill(worker)  # replaced lazily on the next call: the reply must go out now
                used = now - (worker.expires - job.budget_s)
                if used >= job.budget_s / 2:
                    # The response is what made grading slow: being cut off must not pay better than wrong.
                    self._finish(
                        job,
                        Grade.timeout(
                            f"still being graded after {used:.1f} s (budget {job.budget_s:g} s) "
                            "at the batch deadline; worker killed"
                        ),
                    )
                else:
                    self._finish(job, Grade.deadline())
            elif not worker.ready or worker.loading:
                pass  # starting or loading: harmless, it will be ready for the next invocation
        while self.pending:
            self._finish(self.pending.popleft(), Grade.deadline())

    def _give_up(self, reason: str) -> None:
        for worker in list(self.pool._workers):
            if worker.job is not None:
                job = worker.job
                self.pool._kill(worker)
                self._finish(job, Grade.error(reason))
        while self.pending:
            self._finish(self.pending.popleft(), Grade.error(reason))


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:200]}"


_POOL: WorkerPool | None = None
_POOL_LOCK = threading.Lock()


def get_pool() -> WorkerPool:
    """The process-wide pool (created on first use, kept across invocations)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = WorkerPool()
        return _POOL


def reset_pool() -> None:
    """Stop and forget the process-wide pool (tests)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is not None:
            _POOL.close()
        _POOL = None


__all__ = ["HeavyJob", "Status", "WorkerPool", "default_size", "get_pool", "in_worker", "reset_pool"]
