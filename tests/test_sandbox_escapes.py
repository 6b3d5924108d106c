"""The code sandbox is closed by default: each way out is tried by a program, for real, with a listener on
127.0.0.1 (TCP and UDP, and an abstract unix socket) that must receive nothing; and a program that tries
to break the runner (crash its decoding, fill the disk, stall past the deadline, leave an undeletable tree)
is its own failure while the correct program beside it keeps every test. The kernel here has Landlock
(ABI >= 6) and seccomp; on one without them the runner says so in each result's ``reason``."""

from __future__ import annotations

import contextlib
import glob
import os
import socket
import tempfile
import textwrap
import threading
import time
from typing import Any

import pytest

from code_runner import run_batch
from code_runner.sandbox import DiskLimits, decode_record, disk_over, remove_tree
from code_runner.seccomp import SYSCALLS, allowed_syscalls, bpf_program

FAST = {"test_timeout_s": 1.0, "sample_timeout_s": 4.0}
ADD_TESTS = [
    {"args": [1, 2], "kwargs": {}, "expected": 3},
    {"args": [2, 5], "kwargs": {}, "expected": 7},
]
HONEST = "def add(a, b):\n    return a + b\n"


def job(program: str, job_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": job_id,
        "language": "python",
        "program": program,
        "format": "function",
        "entry_point": "add",
        "tests": ADD_TESTS,
        "limits": {**FAST, **extra.pop("limits", {})},
        **extra,
    }


def attack(body: str) -> str:
    """A program that tries ``body`` at import and reports what happened as its answer (so a success is
    visible in the reply), and otherwise adds wrongly."""
    return (
        "RESULT = 'blocked'\n"
        "try:\n" + textwrap.indent(textwrap.dedent(body), "    ") + "\n"
        "except BaseException as exc:\n"
        "    RESULT = 'blocked: ' + type(exc).__name__\n"
        "def add(a, b):\n"
        "    return RESULT\n"
    )


class Listener:
    """TCP and UDP servers on 127.0.0.1 and an abstract unix socket, counting what they receive."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.tcp = socket.socket()
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(8)
        self.tcp.settimeout(0.05)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.05)
        self.abstract_name = f"\0nova-rft-test-{os.getpid()}-{time.monotonic_ns()}"
        self.unix = socket.socket(socket.AF_UNIX)
        self.unix.bind(self.abstract_name)
        self.unix.listen(8)
        self.unix.settimeout(0.05)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def tcp_port(self) -> int:
        return self.tcp.getsockname()[1]

    @property
    def udp_port(self) -> int:
        return self.udp.getsockname()[1]

    def _serve(self) -> None:
        while not self.stop.is_set():
            for server in (self.tcp, self.unix):
                try:
                    conn, _ = server.accept()
                except OSError:
                    continue
                conn.settimeout(0.2)
                try:
                    self.received.append(b"connected:" + (conn.recv(100) or b""))
                except OSError:
                    self.received.append(b"connected")
                conn.close()
            with contextlib.suppress(OSError):
                self.received.append(self.udp.recv(100))

    def __enter__(self) -> Listener:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.2)  # let a late packet arrive (it must not)
        self.stop.set()
        self.thread.join(2)
        for s in (self.tcp, self.udp, self.unix):
            s.close()


def io_uring_socket(port: int) -> str:
    """An IORING_OP_SOCKET request for an AF_INET socket, then a plain connect(): the route the deny-list
    missed. Raw syscalls through ctypes (the program needs nothing else)."""
    return f"""
    import ctypes, mmap, struct, socket
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    params = ctypes.create_string_buffer(120)
    fd = libc.syscall(425, 8, params)  # io_uring_setup(entries, params)
    if fd < 0:
        raise PermissionError("io_uring_setup: errno %d" % ctypes.get_errno())
    RESULT = 'io_uring_setup allowed'
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.connect(('127.0.0.1', {port}))
    s.send(b'escaped')
    RESULT = 'escaped'
    """


def all_escapes(listener: Listener) -> dict[str, str]:
    tcp, udp, name = listener.tcp_port, listener.udp_port, listener.abstract_name
    parent = os.getpid()
    return {
        "io_uring": io_uring_socket(tcp),
        "tcp": f"import socket\ns = socket.create_connection(('127.0.0.1', {tcp}), timeout=0.5)\ns.send(b'x')\nRESULT = 'escaped'",
        "udp": f"import socket\nsocket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', {udp}))\nRESULT = 'escaped'",
        "ipv6": "import socket\nsocket.socket(socket.AF_INET6)\nRESULT = 'escaped'",
        "netlink": "import socket\nsocket.socket(socket.AF_NETLINK, socket.SOCK_RAW)\nRESULT = 'escaped'",
        "abstract_unix": f"import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect({name!r})\ns.send(b'x')\nRESULT = 'escaped'",
        "rt_sigqueueinfo": f"""
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            info = ctypes.create_string_buffer(128)
            if libc.syscall({129 if os.uname().machine == "x86_64" else 138}, {parent}, 10, info) != 0:
                raise PermissionError(ctypes.get_errno())
            RESULT = 'escaped'""",
        "kill_parent": f"import os\nos.kill({parent}, 0)\nRESULT = 'escaped'",
        "pidfd_open": f"""
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.syscall(434, {parent}, 0) < 0:
                raise PermissionError(ctypes.get_errno())
            RESULT = 'escaped'""",
        "unshare": "import os\nos.unshare(os.CLONE_NEWUSER)\nRESULT = 'escaped'",
        "fork": "import os\nos.fork()\nRESULT = 'escaped'",
        "thread": "import threading\nt = threading.Thread(target=print)\nt.start()\nRESULT = 'escaped'",
        "prlimit_parent": f"import resource\nresource.prlimit({parent}, resource.RLIMIT_NOFILE, (16, 16))\nRESULT = 'escaped'",
        "bpf_perf_keyctl_userfaultfd_mount": """
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            libc.syscall.restype = ctypes.c_long
            x86 = __import__('os').uname().machine == 'x86_64'
            for nr in ((321, 298, 250, 323, 165) if x86 else (280, 241, 219, 282, 40)):
                if libc.syscall(nr, 0, 0, 0, 0, 0) >= 0 or ctypes.get_errno() != 1:
                    RESULT = 'escaped %d' % nr
                    break
            else:
                raise PermissionError('all EPERM')""",
    }


def test_no_syscall_way_out_reaches_a_listener_on_loopback():
    with Listener() as listener:
        escapes = all_escapes(listener)
        jobs = [job(attack(body), name) for name, body in escapes.items()]
        jobs.append(job(HONEST, "honest"))
        results = {r["id"]: r for r in run_batch({"version": 1, "jobs": jobs})["results"]}
    assert listener.received == [], listener.received
    assert results["honest"]["passed"] == 2, results["honest"]
    for name in escapes:
        result = results[name]
        assert result["status"] == "ok" and result["passed"] == 0, (name, result)
        assert "'blocked" in result["reason"], (name, result)  # the program ran, and its attempt failed


def test_two_samples_of_one_batch_cannot_talk_over_loopback():
    with Listener() as listener:  # the port the first sample would listen on is taken: pick our own
        server = attack(
            "import socket\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\ns.listen(1)\nRESULT = 'listening'"
        )
        client = attack(
            f"import socket\nsocket.create_connection(('127.0.0.1', {listener.tcp_port}), timeout=0.5)\n"
            "RESULT = 'connected'"
        )
        results = run_batch({"version": 1, "jobs": [job(server, "server"), job(client, "client")]})["results"]
    assert listener.received == []
    assert all("listening" not in r["reason"] and "connected" not in r["reason"] for r in results), results


def test_the_filter_is_an_allow_list_on_both_architectures():
    for arch in SYSCALLS:
        names = set(allowed_syscalls(arch))
        for forbidden in (
            "io_uring_setup", "io_uring_enter", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_open",
            "unshare", "setns", "bpf", "perf_event_open", "keyctl", "userfaultfd", "mount", "clone",
            "execve", "ptrace", "init_module", "memfd_create", "prctl",
        ):  # fmt: skip
            assert forbidden not in names, (arch, forbidden)
        program = bpf_program(arch, 4242)
        assert program[-1] == (0x06, 0, 0, 0x00050001)  # the default: EPERM
        assert len(program) < 4096  # the kernel's limit


# ---------------------------------------------------------------- the runner decides, always

CRASHERS = {
    "replace_canonical": """
        import __main__
        __main__.canonical = lambda value, **kw: {'$float': {'not': 'a float'}}
        def add(a, b):
            return a + b + 1
    """,
    "nonce_flood": """
        import gc, os
        nonce = fd = None
        for obj in gc.get_objects():
            if isinstance(obj, dict) and 'nonce' in obj and 'result_fd' in obj:
                nonce, fd = obj['nonce'], obj['result_fd']
        if nonce:
            os.write(fd, nonce.encode() + b' ' + b'[' * 200000 + b'\\n')
        def add(a, b):
            return a - b
    """,
    "deep_tree": """
        import os
        for _ in range(1200):
            os.mkdir('d')
            os.chdir('d')
        def add(a, b):
            return a - b
    """,
    "many_files": """
        import os
        for i in range(170000):
            try:
                open('f%d' % i, 'w').close()
            except OSError:
                break
        def add(a, b):
            return a - b
    """,
    "unremovable": """
        import os
        os.mkdir('locked')
        open('locked/f', 'w').close()
        os.chmod('locked', 0)
        os.chmod('.', 0o500)
        def add(a, b):
            return a - b
    """,
}


def code_runner_dirs() -> set[str]:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "code-runner-*")))


def test_no_program_can_crash_the_runner_or_change_another_samples_grade(tmp_path, monkeypatch):
    # The samples' directories go under a temp root of this test's own: other tests running the sandbox
    # at the same time (another pytest-xdist worker) cannot add to what it counts.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = code_runner_dirs()
    assert before == set()
    jobs = []
    for name, body in CRASHERS.items():
        jobs += [job(textwrap.dedent(body), name), job(HONEST, f"honest-beside-{name}")]
    results = {r["id"]: r for r in run_batch({"version": 1, "jobs": jobs}, parallelism=2)["results"]}
    for name in CRASHERS:
        assert results[f"honest-beside-{name}"]["passed"] == 2, results[f"honest-beside-{name}"]
        hostile = results[name]
        assert hostile["status"] in ("ok", "failed") and hostile["passed"] == 0, (name, hostile)
    assert code_runner_dirs() == set()  # every sample's directory is gone
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("used_s", "status"), [(1.5, "timeout"), (0.4, "error")])
def test_the_deadline_charges_a_sample_that_used_half_its_time(monkeypatch, used_s, status):
    """Cut off by the batch deadline: after half its 2 s budget the slow sample is the program's
    (``timeout``); before, it is left over by its position (``deadline``, ours). The attempt is injected,
    so the decision is tested without waiting on a clock."""
    from code_runner import runner
    from code_runner.sandbox import Attempt

    def cut_off(*_args: Any, **_kwargs: Any) -> Attempt:
        return Attempt(set_up=True, loaded=True, current=0, stop="deadline", seconds=used_s)

    monkeypatch.setattr(runner, "run_attempt", cut_off)
    stall = "import time\ndef add(a, b):\n    time.sleep(30)\n"
    job_ = job(stall, "stall", limits={"test_timeout_s": 10.0, "sample_timeout_s": 2.0})
    (result,) = run_batch({"version": 1, "jobs": [job_]})["results"]
    assert result["status"] == status, result
    if status == "error":
        assert result["reason"].startswith("deadline:")


# ---------------------------------------------------------------- the pieces, directly


def test_a_hostile_record_is_not_a_record():
    assert decode_record(b'{"t": "done"}', 1000) == {"t": "done"}
    assert decode_record(b"[" * 200_000, 10**7) is None
    assert decode_record(b"x" * 2000, 1000) is None
    assert decode_record(b"[1, 2]", 1000) is None
    assert decode_record(b'{"a": ' * 300 + b"1" + b"}" * 300, 10**6) is None


def test_cleanup_is_iterative_fd_safe_and_gets_back_what_the_program_locked(tmp_path):
    top = tmp_path / "sample"
    top.mkdir()
    cwd = os.getcwd()
    os.chdir(top)
    try:  # deeper than Python's recursion limit; its path is longer than PATH_MAX at the bottom
        for _ in range(1500):
            os.mkdir("ddd")
            os.chdir("ddd")
    finally:
        os.chdir(cwd)
    locked = top / "locked"
    locked.mkdir()
    (locked / "f").write_text("x")
    os.chmod(locked, 0)
    try:
        assert remove_tree(str(top)) == ""
        assert not top.exists()
    finally:  # never leave pytest a tree its own (recursive) cleanup cannot remove
        remove_tree(str(top), budget_s=60)


def test_disk_limits_are_checked_while_it_runs(tmp_path):
    for i in range(30):
        (tmp_path / f"f{i}").write_text("x")
    assert disk_over(str(tmp_path), DiskLimits(max_entries=20)).startswith("the program made over 20")
    assert disk_over(str(tmp_path), DiskLimits(max_entries=100)) == ""
    (tmp_path / "big").write_bytes(b"x" * 3000)
    assert "MB" in disk_over(str(tmp_path), DiskLimits(max_entries=100, max_bytes=2048))


@pytest.mark.parametrize(
    "expected, got, equal",
    [(123456789012, 123456789112.0, False), (0, 1e-10, False), (5, 5.0, True), (2.5, 2.5000000001, True)],
)
def test_an_expected_int_is_exact(expected, got, equal):
    from code_runner.compare import values_equal

    assert values_equal(got, expected) is equal


def test_an_assert_on_an_int_is_exact():
    program = "def f(x):\n    return 1e-10\n"
    test_code = "assert f(1) == 0\n"
    reply = run_batch(
        {
            "version": 1,
            "jobs": [
                {
                    "id": "a",
                    "language": "python",
                    "program": program,
                    "format": "assert",
                    "entry_point": "f",
                    "tests": [],
                    "test_code": test_code,
                    "limits": FAST,
                }
            ],
        }
    )
    assert reply["results"][0]["passed"] == 0
