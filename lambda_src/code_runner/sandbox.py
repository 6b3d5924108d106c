"""One sample in the sandbox: start the harness, watch its records, enforce the time limits, clean up.

Each attempt is one harness process (``code_runner.harness``) started in its own session
(``start_new_session``), with an empty environment (nothing inherited: no ``AWS_*``, no ``LAMBDA_*``, no
credentials), in a fresh temporary directory, its stdout and stderr discarded. The runner watches the
results channel (a pipe) with the clock in hand:

- *load*: the program must load within ``startup_s + test_timeout_s``;
- *per test*: from the harness's "start" record, ``test_timeout_s``;
- *per sample*: all attempts together, ``sample_timeout_s``;
- the batch deadline, if any.

When a limit passes, or the process dies during a test (``os._exit``, a signal, a memory limit), the
whole process group is killed with SIGKILL, that test fails, and a new harness continues from the next
test — so one infinite loop costs one test, not the sample, and nothing the model's code does to its own
process (exiting, killing its group) can pass a test or stop the runner. Whatever happens, the group is
killed and the directory removed before :func:`run_job` returns: no process outlives its sample.
"""

from __future__ import annotations

import contextlib
import json
import marshal
import os
import secrets
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HARNESS_SOURCE = (Path(__file__).with_name("harness.py")).read_text(encoding="utf-8")
STARTUP_S = 3.0  # interpreter start-up and set-up allowance before a program's load time counts
_READ_CHUNK = 1 << 16
_CLEAN_ENV_KEYS = ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR")


def clean_environment(workdir: str) -> dict[str, str]:
    """The sandbox's whole environment: nothing is inherited from the grading process."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": workdir,
        "TMPDIR": workdir,
    }


@dataclass
class Attempt:
    """What one harness process reported before it finished or was stopped."""

    records: dict[int, dict[str, Any]] = field(default_factory=dict)
    set_up: bool = False  # the sandbox reported its set-up done: from here on, failures are the program's
    loaded: bool = False
    load_error: str = ""
    finished: bool = False
    current: int | None = None  # the test running when the attempt stopped
    stop: str = ""  # "", "test_timeout", "load_timeout", "sample_timeout", "deadline", "died", "flood"
    infra: str = ""  # non-empty: our failure, not the program's
    conflicts: set[int] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


def run_attempt(
    payload: dict[str, Any],
    *,
    test_timeout_s: float,
    sample_deadline: float,
    deadline: float | None,
    max_channel_bytes: int,
) -> Attempt:
    """Run the harness once on ``payload`` (the job as the harness reads it, from ``payload["start"]``)."""
    attempt = Attempt()
    workdir = tempfile.mkdtemp(prefix="code-runner-")
    read_fd, write_fd = os.pipe()
    nonce = secrets.token_hex(16)
    process: subprocess.Popen[bytes] | None = None
    try:
        job = {
            **payload,
            "nonce": nonce,
            "result_fd": write_fd,
        }
        try:
            process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-B", "-c", HARNESS_SOURCE],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=workdir,
                env=clean_environment(workdir),
                start_new_session=True,
                pass_fds=(write_fd,),
                close_fds=True,
            )
        except OSError as exc:
            attempt.infra = f"could not start the sandbox: {exc}"
            return attempt
        os.close(write_fd)
        write_fd = -1
        try:
            assert process.stdin is not None
            process.stdin.write(marshal.dumps(job))  # the harness reads it before importing json's cost
            process.stdin.close()
        except OSError as exc:
            attempt.infra = f"could not hand the job to the sandbox: {exc}"
            return attempt
        _watch(attempt, read_fd, nonce.encode() + b" ", test_timeout_s, sample_deadline, deadline, max_channel_bytes)
        if not attempt.set_up and not attempt.infra:
            attempt.infra = f"the sandbox did not finish its set-up ({attempt.stop or 'exited'})"
        elif not attempt.finished and not attempt.stop and not attempt.infra:
            attempt.stop = "died"
        return attempt
    finally:
        if process is not None:
            kill_group(process)
        for fd in (read_fd, write_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        remove_tree(workdir)


def _watch(
    attempt: Attempt,
    fd: int,
    prefix: bytes,
    test_timeout_s: float,
    sample_deadline: float,
    deadline: float | None,
    max_bytes: int,
) -> None:
    """Read records until the harness is done, dies, floods the channel or overruns a limit."""
    phase_end = time.monotonic() + STARTUP_S + test_timeout_s
    phase = "load_timeout"
    buffer = b""
    total = 0
    while True:
        now = time.monotonic()
        limits = [(phase_end, phase), (sample_deadline, "sample_timeout")]
        if deadline is not None:
            limits.append((deadline, "deadline"))
        end, reason = min(limits, key=lambda item: item[0])
        if now >= end:
            attempt.stop = reason
            return
        ready, _, _ = select.select([fd], [], [], end - now)
        if not ready:
            continue
        data = os.read(fd, _READ_CHUNK)
        if not data:
            return  # the harness closed the channel: finished, or died
        total += len(data)
        if total > max_bytes:
            attempt.stop = "flood"
            return
        buffer += data
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if not line.startswith(prefix):
                continue  # not from the harness (or forged without the nonce): ignored
            try:
                record = json.loads(line[len(prefix) :])
            except ValueError:
                continue
            if not isinstance(record, dict):
                continue
            kind = record.get("t")
            if kind == "setup":
                if not record.get("ok"):
                    attempt.infra = str(record.get("error", "sandbox set-up failed"))[:300]
                    return
                if not attempt.set_up:
                    attempt.set_up = True
                    attempt.notes.extend(str(n) for n in record.get("notes") or ())
            elif kind == "load":
                if record.get("ok"):
                    attempt.loaded = True
                    phase_end, phase = time.monotonic() + test_timeout_s, "test_timeout"
                else:
                    attempt.load_error = str(record.get("error", "the program did not load"))[:300]
                    return
            elif kind == "start" and isinstance(record.get("i"), int):
                attempt.current = record["i"]
                phase_end, phase = time.monotonic() + test_timeout_s, "test_timeout"
            elif kind == "result" and isinstance(record.get("i"), int):
                index = record["i"]
                if index in attempt.records or index != attempt.current:
                    attempt.conflicts.add(index)  # reported twice, or out of turn: forged
                attempt.records.setdefault(index, record)
                attempt.current = None
                phase_end, phase = time.monotonic() + test_timeout_s, "test_timeout"
            elif kind == "done":
                attempt.finished = True
                return


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the sandbox's whole process group (its session) and reap the harness."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        process.kill()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not ignorable
        pass
    for pid in session_members(process.pid):  # belt and braces: anything left in its session
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def session_members(sid: int) -> list[int]:
    """Processes whose session id is ``sid`` (from /proc; empty where /proc is absent)."""
    members = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return members
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # after the command: state ppid pgrp session ...
        if len(fields) > 3 and int(fields[3]) == sid:
            members.append(int(entry))
    return members


def remove_tree(path: str) -> None:
    """Remove the sample's directory even if the program took away its own permissions."""

    def make_writable(function: Any, target: str, _exc: Any) -> None:
        with contextlib.suppress(OSError):
            parent = os.path.dirname(target)
            os.chmod(parent, os.stat(parent).st_mode | stat.S_IRWXU)
            if os.path.isdir(target) and not os.path.islink(target):
                os.chmod(target, stat.S_IRWXU)
            function(target)

    shutil.rmtree(path, onerror=make_writable)  # noqa: PTH - onerror works on 3.11 and 3.12+
    if os.path.exists(path):
        shutil.rmtree(path, ignore_errors=True)
