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
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _harness_source() -> str:
    """The sandbox's script: the seccomp module, then the harness (its ``from __future__`` line removed:
    it must come first in a file, and the harness does not need it to run)."""
    here = Path(__file__).parent
    harness = (here / "harness.py").read_text(encoding="utf-8")
    harness = harness.replace("from __future__ import annotations\n", "", 1)
    return (here / "seccomp.py").read_text(encoding="utf-8") + "\n\n" + harness


HARNESS_SOURCE = _harness_source()
STARTUP_S = 15.0  # interpreter start-up and sandbox set-up; overrunning it is our failure, not the program's
_READ_CHUNK = 1 << 16


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
    stop: str = ""  # "", "test_timeout", "load_timeout", "sample_timeout", "deadline", "died", "flood",
    # "forged" (a malformed record on the results channel), "disk" (over the disk limits), "enough"
    infra: str = ""  # non-empty: our failure, not the program's
    conflicts: set[int] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0  # time the program had (from the end of the set-up to the end of the attempt)
    cleanup_failed: str = ""  # non-empty: the program's files could not all be removed (its failure)


def run_attempt(
    payload: dict[str, Any],
    *,
    test_timeout_s: float,
    budget_s: float,
    deadline: float | None,
    max_channel_bytes: int,
    enough: Callable[[int, dict[str, Any]], bool] | None = None,
    disk: DiskLimits | None = None,
) -> Attempt:
    """Run the harness once on ``payload`` (the job as the harness reads it, from ``payload["start"]``).

    ``budget_s`` is what is left of the sample's time; it starts counting when the sandbox is set up (a
    slow interpreter start on a busy machine is not the program's time). ``enough(index, record)``
    returning True stops the attempt after that test (e.g. all-or-nothing credit after a failure).
    """
    attempt = Attempt()
    workdir = tempfile.mkdtemp(prefix="code-runner-")
    read_fd, write_fd = os.pipe()
    nonce = secrets.token_hex(16)
    process: subprocess.Popen[bytes] | None = None
    try:
        job = {**payload, "nonce": nonce, "result_fd": write_fd}
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
            process.stdin.write(marshal.dumps(job))  # read by the harness before any model code runs
            process.stdin.close()
        except OSError as exc:
            attempt.infra = f"could not hand the job to the sandbox: {exc}"
            return attempt
        watch = _Watch(
            attempt, nonce.encode() + b" ", test_timeout_s, budget_s, deadline, max_channel_bytes, enough
        )
        watch.disk, watch.workdir = disk or DiskLimits(), workdir
        watch.run(read_fd)
        if not attempt.set_up and not attempt.infra:
            attempt.infra = f"the sandbox did not finish its set-up ({attempt.stop or 'it exited'})"
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
        left = remove_tree(workdir)
        if left:
            attempt.cleanup_failed = left


class _Watch:
    """Reads the harness's records with the clock in hand."""

    def __init__(
        self,
        attempt: Attempt,
        prefix: bytes,
        test_timeout_s: float,
        budget_s: float,
        deadline: float | None,
        max_bytes: int,
        enough: Callable[[int, dict[str, Any]], bool] | None,
    ) -> None:
        self.attempt, self.prefix, self.test_timeout_s = attempt, prefix, test_timeout_s
        self.budget_s, self.deadline, self.max_bytes, self.enough = budget_s, deadline, max_bytes, enough
        self.max_record = min(max_bytes, MAX_RECORD_BYTES)
        self.phase_end, self.phase = time.monotonic() + STARTUP_S, "startup"
        self.sample_end = float("inf")  # set when the sandbox is set up
        self.set_up_at: float | None = None
        self.disk = DiskLimits()
        self.workdir = ""
        self.next_disk_check = 0.0

    def run(self, fd: int) -> None:
        buffer = b""
        total = 0
        try:
            while True:
                now = time.monotonic()
                limits = [(self.phase_end, self.phase), (self.sample_end, "sample_timeout")]
                if self.deadline is not None:
                    limits.append((self.deadline, "deadline"))
                end, reason = min(limits, key=lambda item: item[0])
                if now >= end:
                    self.attempt.stop = reason
                    return
                if self.workdir and now >= self.next_disk_check:
                    over = disk_over(self.workdir, self.disk)
                    if over:
                        self.attempt.stop = "disk"
                        self.attempt.notes.append(over)
                        return
                    self.next_disk_check = now + self.disk.check_every_s
                wait = min(end, self.next_disk_check) - now if self.workdir else end - now
                ready, _, _ = select.select([fd], [], [], max(0.0, wait))
                if not ready:
                    continue
                data = os.read(fd, _READ_CHUNK)
                if not data:
                    return  # the harness closed the channel: finished, or died
                total += len(data)
                if total > self.max_bytes:
                    self.attempt.stop = "flood"
                    return
                buffer += data
                *lines, buffer = buffer.split(b"\n")
                if len(buffer) > self.max_record:  # a line that never ends: forged, not a record
                    self.attempt.stop = "forged"
                    return
                for line in lines:
                    if self._record(line):
                        return
        finally:
            if self.set_up_at is not None:
                self.attempt.seconds = time.monotonic() - self.set_up_at

    def _record(self, line: bytes) -> bool:
        """Handle one line; True when the attempt is over."""
        attempt = self.attempt
        if not line.startswith(self.prefix):
            return False  # not from the harness (or forged without the nonce): ignored
        record = decode_record(line[len(self.prefix) :], self.max_record)
        if record is None:  # nonce-tagged but not a well-formed record: the program forged it
            attempt.stop = "forged"
            return True
        kind = record.get("t")
        now = time.monotonic()
        if kind == "setup":
            if attempt.set_up:
                return False
            if not record.get("ok"):
                attempt.infra = str(record.get("error", "sandbox set-up failed"))[:300]
                return True
            attempt.set_up = True
            attempt.notes.extend(str(n) for n in record.get("notes") or ())
            self.set_up_at = now
            self.sample_end = now + self.budget_s
            self.phase_end, self.phase = now + self.test_timeout_s, "load_timeout"
        elif not attempt.set_up:
            return False  # nothing counts before the set-up is reported
        elif kind == "load":
            if not record.get("ok"):
                attempt.load_error = str(record.get("error", "the program did not load"))[:300]
                return True
            attempt.loaded = True
            self.phase_end, self.phase = now + self.test_timeout_s, "test_timeout"
        elif kind == "start" and isinstance(record.get("i"), int):
            attempt.current = record["i"]
            self.phase_end, self.phase = now + self.test_timeout_s, "test_timeout"
        elif kind == "result" and isinstance(record.get("i"), int):
            index = record["i"]
            if index in attempt.records or index != attempt.current:
                attempt.conflicts.add(index)  # reported twice, or out of turn: forged
            attempt.records.setdefault(index, record)
            attempt.current = None
            self.phase_end, self.phase = now + self.test_timeout_s, "test_timeout"
            if self.enough is not None and self.enough(index, attempt.records[index]):
                attempt.stop = "enough"
                return True
        elif kind == "done":
            attempt.finished = True
            return True
        return False


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the sandbox's whole process group (its session) and reap the harness."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL cannot be ignored
        process.wait(timeout=5)
    # SIGKILL is asynchronous: wait (briefly) until nothing of the session is alive, so no process
    # outlives the sample even on a busy machine. Zombies are dead and are not counted.
    for _ in range(250):
        alive = session_members(process.pid)
        if not alive:
            break
        for pid in alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)


def session_members(sid: int) -> list[int]:
    """Live processes whose session id is ``sid`` (from /proc; empty where /proc is absent)."""
    members: list[int] = []
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
        # after the command: state ppid pgrp session ...; zombies (Z) and dead (X) tasks are not alive
        if len(fields) > 3 and int(fields[3]) == sid and fields[0] not in (b"Z", b"X"):
            members.append(int(entry))
    return members


#: The longest record the runner decodes (a test's value or output, JSON-encoded, is far smaller).
MAX_RECORD_BYTES = 64 * 1024 * 1024
#: The deepest nesting of a record the runner decodes (the harness's values nest at most 64 levels).
MAX_RECORD_DEPTH = 200


def decode_record(data: bytes, max_bytes: int) -> dict[str, Any] | None:
    """A harness record, or None for anything that is not a well-formed one: too long, too deep, not
    JSON, not an object. Never raises (a 200,000-deep ``[[[[`` is None, not a RecursionError)."""
    if len(data) > max_bytes:
        return None
    depth = deepest = 0
    for byte in data:  # bracket depth, ignoring strings is unnecessary: a string only raises the count
        if byte in (0x5B, 0x7B):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_RECORD_DEPTH:
                    return None
        elif byte in (0x5D, 0x7D):
            depth -= 1
    try:
        record = json.loads(data)
    except BaseException:
        return None
    return record if isinstance(record, dict) else None


@dataclass(frozen=True)
class DiskLimits:
    """What a sample may leave in its directory, checked while it runs (RLIMIT_FSIZE bounds each file)."""

    max_entries: int = 5_000  # files, directories and links together
    max_bytes: int = 64 * 1024 * 1024
    check_every_s: float = 0.1


def disk_over(path: str, limits: DiskLimits) -> str:
    """Why the directory is over ``limits`` ("" when it is not). Iterative, stops at the limit, and never
    follows a link: its cost is bounded by the limit, not by what the program made."""
    entries = size = 0
    stack = [path]
    while stack:
        try:
            with os.scandir(stack.pop()) as listing:
                for entry in listing:
                    entries += 1
                    if entries > limits.max_entries:
                        return f"the program made over {limits.max_entries} files and directories"
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                        else:
                            size += entry.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue
                    if size > limits.max_bytes:
                        return (
                            f"the program wrote over {limits.max_bytes // (1024 * 1024)} MB to its directory"
                        )
        except OSError:
            continue
    return ""


#: Seconds the removal of one sample's directory may take (the disk limits keep it far below).
CLEANUP_S = 10.0


def remove_tree(path: str, *, budget_s: float = CLEANUP_S) -> str:
    """Remove the sample's directory: iteratively (a 100,000-deep tree is fine), holding at most two
    descriptors (Lambda's ``ulimit -n`` is 1024), through directory descriptors (no path is ever longer
    than a name), making each directory writable first (the program may have taken its permissions
    away), within ``budget_s``. Returns "" when it is gone, else why not."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    end = time.monotonic() + budget_s
    with contextlib.suppress(OSError):
        os.chmod(path, stat.S_IRWXU)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return ""
    except OSError as exc:
        return f"cannot open the sample's directory: {exc}"
    names: list[str] = []  # the path from the top to the directory fd is
    try:
        while True:
            if time.monotonic() > end:
                return f"removing the program's files took over {budget_s:g} s"
            descended = False
            with os.scandir(fd) as listing:
                for entry in listing:
                    try:
                        is_dir = entry.is_dir(follow_symlinks=False)
                    except OSError:
                        is_dir = False
                    if is_dir:
                        with contextlib.suppress(OSError):
                            os.chmod(entry.name, stat.S_IRWXU, dir_fd=fd, follow_symlinks=False)
                        child = os.open(entry.name, flags, dir_fd=fd)
                        os.close(fd)
                        fd, descended = child, True
                        names.append(entry.name)
                        break
                    os.unlink(entry.name, dir_fd=fd)
            if descended:
                continue
            if not names:
                break
            parent = os.open("..", flags, dir_fd=fd)
            os.close(fd)
            fd = parent
            os.rmdir(names.pop(), dir_fd=fd)
    except OSError as exc:
        return f"cannot remove the program's files: {exc}"
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        return f"cannot remove the sample's directory: {exc}"
    return ""
