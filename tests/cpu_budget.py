"""Run a function under a CPU-time budget: how tests prove "does not hang" without a wall clock.

``within_cpu_seconds(5, fn, *args)`` runs ``fn(*args)`` in a forked child whose CPU time is capped with
``RLIMIT_CPU``; the kernel stops the child (SIGXCPU) when it has *computed* for that long. CPU time, unlike
elapsed time, does not grow when other processes keep the machine busy, so the budget can be generous
(catastrophic regex backtracking needs years, not seconds) and the test still cannot flake on a loaded box.
"""

from __future__ import annotations

import multiprocessing
import resource
import signal
from collections.abc import Callable
from typing import Any


class CpuBudgetExceeded(AssertionError):
    """The function computed for longer than its budget (it would have hung)."""


def within_cpu_seconds(seconds: int, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``'s result, computed in a child limited to ``seconds`` of CPU time.

    Raises ``CpuBudgetExceeded`` when the child runs out of CPU time, ``AssertionError`` (with the
    child's ``repr``) when ``fn`` raises. The result must be picklable.
    """
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)

    def child() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
        try:
            sender.send(("ok", fn(*args)))
        except BaseException as exc:  # report, do not let the child's traceback be the test's output
            sender.send(("raised", repr(exc)))

    process = ctx.Process(target=child, daemon=True)
    process.start()
    sender.close()
    try:
        outcome, value = receiver.recv()
    except EOFError:  # the child died without answering
        outcome, value = "died", None
    finally:
        receiver.close()
        process.join()
    if outcome == "ok":
        return value
    if outcome == "raised":
        raise AssertionError(f"{fn.__name__} raised {value}")
    if process.exitcode in (-signal.SIGXCPU, -signal.SIGKILL):
        raise CpuBudgetExceeded(f"{fn.__name__} computed for more than {seconds} s of CPU time")
    raise AssertionError(f"{fn.__name__}'s process died with exit code {process.exitcode}")
