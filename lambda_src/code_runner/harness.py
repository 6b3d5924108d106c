"""The program that runs inside the sandbox: one sample's code against its test *inputs*.

It is started by ``code_runner.sandbox`` as ``python -I -S -B -c <this file's text>`` in a fresh session,
with an empty environment, in a fresh temporary directory. It never sees an expected value: it runs the
model's code on each test's input and reports what came out (the returned value, or the program's
stdout) on the results pipe; the runner, outside this process, decides whether that is right. So
nothing the model's code does in here — an always-equal ``__eq__``, patched builtins, ``sys.exit(0)``,
printing "all tests passed" — can make a wrong answer pass: at most it can change what is reported, and
what is reported is compared with values this process never had.

Order of events (each step before any model code runs, so the model's code cannot undo it):
1. read the job (``marshal``, written by the runner) from stdin, then point stdin at /dev/null;
2. resource limits (memory, CPU seconds, file size, open files, no core files);
3. Landlock, where the kernel has it: read access to the interpreter's library and ``/usr``, ``/lib``
   only, write access to its own directory only — so no ``/proc/<pid>/environ`` of another process, no
   credential file, no repository; and, when started as root, every capability dropped;
4. RLIMIT_NPROC and a seccomp filter (Linux x86_64 / aarch64, ``code_runner.seccomp``): a default-deny
   allow-list of what CPython needs — no new processes or threads, no signals to other processes, no
   ``execve``, ``ptrace``, io_uring, ``bpf``, mounts or namespaces, no new session or process group (so
   nothing leaves the group the runner kills), no sockets except AF_UNIX (no network); Landlock (ABI 4+)
   also refuses TCP bind/connect, and (ABI 6+) scopes signals and abstract sockets to the sandbox;
5. load the program, run the tests, one record per test on the results pipe.

Records are JSON lines prefixed with a per-run nonce (``<nonce> {...}``); the runner ignores lines without
it and fails a test reported twice, so text the model prints cannot be mistaken for a result.

This file imports only the standard library and nothing from its package: it runs as a script. The runner
imports :func:`canonical` from it so both sides encode values the same way.
"""

from __future__ import annotations

import math
import sys
from typing import Any

MAX_DEPTH = 64
_SET_TYPES = (set, frozenset)


class Unencodable(ValueError):
    """A value the runner cannot compare (not a plain value, too deep, too large)."""


def canonical(value: Any, *, _depth: int = 0) -> Any:
    """``value`` as JSON-ready data that keeps Python's distinctions the runner compares on.

    Only exact plain types are accepted (subclasses are rejected, so an ``int`` subclass with an
    always-true ``__eq__`` cannot pass as a number): None, bool, int, float, str, list, tuple, dict, set,
    frozenset. Tuples, sets, dicts and non-finite floats are tagged: ``{"$tuple": [...]}``,
    ``{"$set": [...]}`` (items sorted by their JSON text), ``{"$dict": [[k, v], ...]}``,
    ``{"$float": "nan"}``.
    """
    if _depth > MAX_DEPTH:
        raise Unencodable(f"nested deeper than {MAX_DEPTH} levels")
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return value
    if kind is float:
        if math.isfinite(value):
            return value
        return {"$float": "nan" if value != value else ("inf" if value > 0 else "-inf")}
    if kind is list:
        return [canonical(v, _depth=_depth + 1) for v in value]
    if kind is tuple:
        return {"$tuple": [canonical(v, _depth=_depth + 1) for v in value]}
    if kind in _SET_TYPES:
        items = [canonical(v, _depth=_depth + 1) for v in value]
        return {"$set": sorted(items, key=dumps)}
    if kind is dict:
        return {
            "$dict": [
                [canonical(k, _depth=_depth + 1), canonical(v, _depth=_depth + 1)] for k, v in value.items()
            ]
        }
    raise Unencodable(
        f"returned a {kind.__name__}; only plain values (None, bool, int, float, str, list, tuple, dict, set) "
        "can be compared"
    )


def dumps(value: Any) -> str:
    """JSON text of canonical data (the ``json`` module is not imported here: it costs start-up time)."""
    from _json import encode_basestring_ascii

    kind = type(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    if kind is float:
        if not math.isfinite(value):
            raise ValueError("non-finite float")
        return float.__repr__(value)
    if kind is str:
        return encode_basestring_ascii(value)
    if kind is list or kind is tuple:
        return "[" + ",".join(dumps(v) for v in value) + "]"
    if kind is dict:
        return (
            "{" + ",".join(encode_basestring_ascii(str(k)) + ":" + dumps(v) for k, v in value.items()) + "}"
        )
    raise TypeError(f"cannot encode {kind.__name__}")


# --- sandbox set-up (runs before the model's code) -----------------------------------------------

# The seccomp allow-list lives in ``code_runner.seccomp``: imported when this file is a module (the runner,
# tests); when it runs as the sandbox's script, the runner has put that module's source before this one.
try:  # noqa: SIM105 - no contextlib in the sandbox (start-up time)
    from code_runner.seccomp import install_seccomp
except ImportError:  # the sandbox's script: already defined above
    pass

_CAPSET = {"x86_64": 126, "aarch64": 91}  # capset(2)


def _libc():
    import ctypes

    return ctypes, ctypes.CDLL(None, use_errno=True)


def no_new_privileges() -> str:
    ctypes, libc = _libc()
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        return f"prctl(NO_NEW_PRIVS) failed: errno {ctypes.get_errno()}"
    return ""


# Landlock (Linux >= 5.13): the program may read the interpreter's library and the system's shared files,
# and write only its own directory. Everything else (/proc of other processes, home directories,
# credential files, the repository) is out of reach, even for root.
_LL_READ = (1 << 0) | (1 << 2) | (1 << 3)  # execute, read_file, read_dir
_LL_FILE_RW = (1 << 1) | (1 << 2)  # write_file, read_file (for /dev/null)


def _landlock_fs_mask(abi: int) -> int:
    mask = (1 << 13) - 1
    if abi >= 2:
        mask |= 1 << 13  # refer
    if abi >= 3:
        mask |= 1 << 14  # truncate
    if abi >= 5:
        mask |= 1 << 15  # ioctl_dev
    return mask


def install_landlock(read_paths: list, write_path: str) -> str:
    """Restrict this process's filesystem view; returns "" or why it could not."""
    import os
    import struct

    try:
        ctypes, libc = _libc()
        libc.syscall.restype = ctypes.c_long
        abi = libc.syscall(444, None, 0, 1)  # landlock_create_ruleset(NULL, 0, VERSION)
        if abi < 1:
            return "no Landlock in this kernel: the filesystem is not isolated"
        handled = _landlock_fs_mask(abi)
        # ABI 4+: TCP bind and connect handled with no rule allowing any port (no network, whatever the
        # syscall filter lets through); ABI 6+: signals and abstract unix sockets scoped to this domain.
        handled_net = 0x3 if abi >= 4 else 0
        scoped = 0x3 if abi >= 6 else 0
        if abi >= 6:
            attr = struct.pack("QQQ", handled, handled_net, scoped)
        elif abi >= 4:
            attr = struct.pack("QQ", handled, handled_net)
        else:
            attr = struct.pack("Q", handled)
        ruleset = libc.syscall(444, attr, len(attr), 0)
        if ruleset < 0:
            return f"Landlock ruleset refused: errno {ctypes.get_errno()}"
        rules = [(path, _LL_READ) for path in read_paths] + [(write_path, handled)]
        rules += [(os.devnull, _LL_FILE_RW)]
        for path, access in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            if not os.path.isdir(path):
                access &= _LL_FILE_RW | (1 << 0) | (1 << 14 if abi >= 3 else 0)
            rule = struct.pack("=Qi", access & handled, fd)
            libc.syscall(445, ruleset, 1, rule, 0)  # landlock_add_rule(PATH_BENEATH)
            os.close(fd)
        problem = no_new_privileges()
        if problem:
            return problem
        if libc.syscall(446, ruleset, 0) != 0:  # landlock_restrict_self
            return f"Landlock refused: errno {ctypes.get_errno()}"
        os.close(ruleset)
    except Exception as exc:
        return f"no Landlock: {exc}"
    if abi < 4:
        return f"Landlock ABI {abi}: no network rules (the seccomp filter still refuses non-unix sockets)"
    if abi < 6:
        return f"Landlock ABI {abi}: signals and abstract sockets not scoped (the seccomp filter still limits signals)"
    return ""


def drop_capabilities() -> str:
    """Root without capabilities: cannot bypass file permissions, reboot, load modules, change the clock."""
    import os
    import struct

    if os.geteuid() != 0:
        return ""
    try:
        ctypes, libc = _libc()
        libc.syscall.restype = ctypes.c_long
        for cap in range(64):
            libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP (fails past the last capability: fine)
        libc.prctl(47, 4, 0, 0, 0)  # PR_CAP_AMBIENT, CLEAR_ALL
        header = ctypes.create_string_buffer(struct.pack("Ii", 0x20080522, 0), 8)
        data = ctypes.create_string_buffer(bytes(24), 24)
        nr = _CAPSET.get(os.uname().machine)
        if nr is None or libc.syscall(nr, header, data) != 0:
            return f"capabilities not dropped: errno {ctypes.get_errno()}"
    except Exception as exc:
        return f"capabilities not dropped: {exc}"
    return ""


def apply_limits(limits: dict) -> None:
    """Resource limits of this process (inherited by anything it may start)."""
    import resource

    memory = int(limits["memory_mb"]) * 1024 * 1024
    cpu = max(1, math.ceil(float(limits["cpu_s"])))
    settings = [
        (resource.RLIMIT_AS, memory),
        (resource.RLIMIT_DATA, memory),
        (resource.RLIMIT_FSIZE, int(limits["max_file_bytes"])),
        (resource.RLIMIT_NOFILE, int(limits["max_open_files"])),
        (resource.RLIMIT_CORE, 0),
    ]
    for which, value in settings:
        resource.setrlimit(which, (value, value))
    # CPU: SIGXCPU at the soft limit, SIGKILL one second later.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def limit_processes(limits: dict) -> None:
    """RLIMIT_NPROC just before the model's code runs (the harness itself forks in program mode).

    It counts every process of the user (and does not bind root): the seccomp filter is the real fence.
    """
    import resource

    value = int(limits["max_processes"])
    try:  # noqa: SIM105 - contextlib is not imported in the sandbox (start-up time)
        resource.setrlimit(resource.RLIMIT_NPROC, (value, value))
    except (ValueError, OSError):
        pass


def sandbox_program(limits: dict) -> list:
    """The last steps before the model's code runs in this process; returns notes on what is missing."""
    limit_processes(limits)
    problem = install_seccomp()
    return [problem] if problem else []


# --- the run -------------------------------------------------------------------------------------


class Channel:
    """Result records on the results pipe: ``<nonce> <json>\\n``, written whole."""

    def __init__(self, fd: int, nonce: str, max_record: int) -> None:
        import os

        self._fd, self._nonce, self._max = fd, nonce.encode(), max_record
        self._dumps, self._write = dumps, os.write

    def send(self, record: dict) -> None:
        try:
            text = self._dumps(record)
        except (TypeError, ValueError, RecursionError) as exc:
            text = self._dumps(
                {
                    **{k: record[k] for k in ("t", "i") if k in record},
                    "ok": False,
                    "error": f"result not serializable: {exc}"[:300],
                }
            )
        data = self._nonce + b" " + text.encode() + b"\n"
        if len(data) > self._max:
            data = (
                self._nonce
                + b" "
                + self._dumps(
                    {
                        **{k: record[k] for k in ("t", "i") if k in record},
                        "ok": False,
                        "error": f"result over {self._max} bytes",
                    }
                ).encode()
                + b"\n"
            )
        view = memoryview(data)
        while view:
            view = view[self._write(self._fd, view) :]


def _describe(exc: BaseException) -> str:
    try:
        text = str(exc)
    except BaseException:
        text = "?"
    return f"{type(exc).__name__}: {text}"[:300]


def run_functions(job: dict, channel: Channel) -> None:
    """Function and assert tests: load the program once, then one call or expression per test.

    Test expressions run in their own namespace: the builtins as they were before the program ran (a
    program that patches ``builtins.sorted`` or defines its own ``len`` does not change what ``sorted``
    and ``len`` mean in a test), plus the program's names that do not shadow a builtin.
    """
    import builtins

    pristine = dict(builtins.__dict__)
    namespace = {"__name__": "__solution__", "__builtins__": builtins}
    try:
        exec(compile(job["program"], "solution.py", "exec"), namespace)
    except BaseException as exc:
        channel.send({"t": "load", "ok": False, "error": _describe(exc)})
        return
    tests_ns = {k: v for k, v in namespace.items() if k not in pristine and not k.startswith("__")}
    tests_ns.update({"__name__": "__tests__", "__builtins__": pristine})
    try:
        if job.get("setup"):
            exec(compile(job["setup"], "tests.py", "exec"), tests_ns)
    except BaseException as exc:
        channel.send({"t": "load", "ok": False, "error": "test set-up failed: " + _describe(exc)})
        return
    channel.send({"t": "load", "ok": True})
    entry = job.get("entry_point")
    for index in range(job["start"], len(job["tests"])):
        test = job["tests"][index]
        channel.send({"t": "start", "i": index})
        try:
            if test["kind"] == "call":
                function = namespace.get(entry or "")
                if not callable(function):
                    raise NameError(f"the program defines no function {entry!r}")
                value = function(*test["args"], **test["kwargs"])
            elif test["kind"] == "expr":
                value = eval(compile(test["expr"], "tests.py", "eval"), tests_ns)
            else:  # "stmt": an assert the runner could not rewrite; passing = not raising
                exec(compile(test["code"], "tests.py", "exec"), tests_ns)
                value = None
            record = {"t": "result", "i": index, "ok": True, "value": canonical(value)}
        except BaseException as exc:
            record = {"t": "result", "i": index, "ok": False, "error": _describe(exc)}
        channel.send(record)
    channel.send({"t": "done"})


def run_programs(job: dict, channel: Channel, limits: dict) -> None:
    """Program tests: for each test, a child process runs the program as ``__main__`` on its stdin."""
    import os

    limit = int(job["max_output_bytes"])
    channel.send({"t": "load", "ok": True})
    for index in range(job["start"], len(job["tests"])):
        test = job["tests"][index]
        channel.send({"t": "start", "i": index})
        in_path, out_path = f".stdin-{index}", f".stdout-{index}"
        with open(in_path, "w", encoding="utf-8") as handle:
            handle.write(test["stdin"])
        pid = os.fork()
        if pid == 0:  # the child: only the program runs here
            code = 1
            try:
                in_fd = os.open(in_path, os.O_RDONLY)
                out_fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(in_fd, 0)
                os.dup2(out_fd, 1)
                os.dup2(null, 2)
                os.closerange(3, 1 << 16)  # the results channel is not the program's to write
                sandbox_program(limits)
                code = _run_main(job["program"])
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        exit_code = os.waitstatus_to_exitcode(status)
        try:
            size = os.path.getsize(out_path)
            with open(out_path, "rb") as handle:
                stdout = handle.read(limit + 1)
        except OSError:
            size, stdout = 0, b""
        for path in (in_path, out_path):
            try:  # noqa: SIM105 - contextlib is not imported in the sandbox
                os.unlink(path)
            except OSError:
                pass
        if size > limit:
            record = {"t": "result", "i": index, "ok": False, "error": f"printed more than {limit} bytes"}
        else:
            record = {
                "t": "result",
                "i": index,
                "ok": True,
                "exit": exit_code,
                "stdout": stdout.decode("utf-8", "replace"),
            }
        channel.send(record)
    channel.send({"t": "done"})


def _run_main(program: str) -> int:
    """Run ``program`` as ``__main__`` with fresh stdio; its exit status."""
    import builtins
    import io

    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8", errors="replace")
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", write_through=False)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8")
    sys.argv = ["solution.py"]
    code = 0
    try:
        exec(compile(program, "solution.py", "exec"), {"__name__": "__main__", "__builtins__": builtins})
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        code = 1
    try:
        sys.stdout.flush()
    except BaseException:
        code = code or 1
    return code & 0xFF


def main() -> None:
    import marshal
    import os

    job = marshal.loads(sys.stdin.buffer.read())  # written by the runner (trusted), before any model code
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    channel = Channel(int(job["result_fd"]), job["nonce"], int(job["max_record_bytes"]))
    notes = []
    try:
        apply_limits(job["limits"])
    except (OSError, ValueError) as exc:
        channel.send({"t": "setup", "ok": False, "error": f"sandbox limits could not be set: {exc}"})
        return
    read_paths = [p for p in dict.fromkeys([*sys.path, "/usr", "/lib", "/lib64"]) if p and os.path.exists(p)]
    for step in (lambda: install_landlock(read_paths, os.getcwd()), drop_capabilities):
        problem = step()
        if problem:
            notes.append(problem)
    limits = job["limits"]
    if job["format"] == "program":
        channel.send({"t": "setup", "ok": True, "notes": notes})
        run_programs(job, channel, limits)
        return
    notes += sandbox_program(limits)
    channel.send({"t": "setup", "ok": True, "notes": notes})
    run_functions(job, channel)


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    import os as _os

    _os._exit(0)
