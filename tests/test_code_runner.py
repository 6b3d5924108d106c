"""The code sandbox (lambda_src/code_runner) run for real: the three formats, every attack family of
reward.code_hacks, time limits, what the program can see, and that no process outlives its batch.

The hostile batch runs in a child process whose environment carries a fake AWS secret (as the reward
Lambda's environment carries credentials): the programs hunt for it (os.environ, /proc/*/environ, the
parent's files) and report whatever they find, and it must not appear anywhere in the reply.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from code_runner import run_batch
from code_runner.asserts import parse_asserts
from code_runner.compare import compare, normalize_output, values_equal
from code_runner.harness import Unencodable, canonical
from code_runner.sandbox import HARNESS_SOURCE
from reward.code_hacks import FAMILIES, programs
from reward.code_tasks import read_task

ROOT = Path(__file__).resolve().parents[1]
FAKE_SECRET = "wJalrXUtnFEMI-FAKE-SECRET-K7MDENGbPxRfiCY"
FAST = {"test_timeout_s": 1.0, "sample_timeout_s": 3.0}
_MARKER = "The program that runs inside the sandbox"

ADD = {
    "entry_point": "add",
    "tests": [
        {"args": [1, 2], "kwargs": {}, "expected": 3},
        {"args": [2, 5], "kwargs": {}, "expected": 7},
        {"args": [-1], "kwargs": {"b": 1}, "expected": 0},
    ],
    "solution": "def add(a, b):\n    return a + b\n",
}
DOUBLE = {
    "tests": [
        {"stdin": "3\n", "stdout": "6\n"},
        {"stdin": "10\n", "stdout": "20"},
        {"stdin": "-4\n", "stdout": "-8\n\n"},
    ],
    "solution": "print(int(input()) * 2)\n",
}
SQUARE = {
    "entry_point": "sq",
    "test_code": "import math\nassert sq(3) == 9\nassert sq(-2) == 4\nassert sq(0) == 0\n",
    "solution": "def sq(x):\n    return x * x\n",
}
TASKS = {"function": ADD, "program": DOUBLE, "assert": SQUARE}


def job(reference: dict[str, Any], program: str, job_id: str = "j", **extra: Any) -> dict[str, Any]:
    task, problem = read_task(reference)
    assert task is not None, problem
    return {
        "id": job_id,
        "language": "python",
        "program": program,
        "format": task.format,
        "entry_point": task.entry_point,
        "tests": list(task.tests),
        "test_code": task.test_code,
        **extra,
    }


def run(*jobs: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
    reply = run_batch({"version": 1, "jobs": list(jobs)}, **kwargs)
    assert reply["version"] == 1 and [r["id"] for r in reply["results"]] == [j["id"] for j in jobs]
    return reply["results"]


def sandbox_processes(tmp_root: str | None = None) -> list[int]:
    """Live processes running this interpreter's harness (forked children keep its command line); with
    ``tmp_root``, only the sandboxes whose directory (their HOME, set by the runner) is under it — so
    the sandboxes of other tests running at the same time (pytest-xdist) are not counted."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                state = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
                environ = Path(f"/proc/{entry}/environ").read_bytes() if tmp_root else b""
            except (OSError, IndexError):
                continue
            ours = cmdline.split(b"\0", 1)[0] == sys.executable.encode()  # not another checkout's runs
            if tmp_root and f"HOME={tmp_root}".encode() not in environ:
                continue
            if ours and _MARKER.encode() in cmdline and state not in (b"Z", b"X"):  # zombies are dead
                found.append(int(entry))
    return found


# --- the three formats ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(TASKS))
def test_reference_solutions_pass_and_wrong_programs_fail(fmt):
    reference = TASKS[fmt]
    wrong = {
        "function": "def add(a, b):\n    return a - b\n",
        "program": "print(int(input()) + 2)\n",
        "assert": "def sq(x):\n    return x + x\n",
    }[fmt]
    good, bad = run(job(reference, reference["solution"], "good"), job(reference, wrong, "bad"))
    assert good["status"] == "ok" and good["passed"] == good["total"] == 3, good
    assert [t["status"] for t in good["tests"]] == ["passed"] * 3
    assert (
        bad["status"] == "ok" and bad["passed"] < 3 and any(t["status"] == "wrong" for t in bad["tests"])
    ), bad


def test_program_output_is_normalized_but_not_loosely():
    assert normalize_output("6  \r\n\r\n\n") == normalize_output("6") == "6"
    assert normalize_output("a\n\nb") != normalize_output("a\nb")  # inner blank lines count
    assert normalize_output("  x") != normalize_output("x")  # leading spaces count


def test_program_exit_status_and_exceptions_fail_the_test():
    [result] = run(
        job(DOUBLE, "import sys\nprint(int(input()) * 2)\nsys.exit(3)\n"),
    )
    assert [t["status"] for t in result["tests"]] == ["raised"] * 3 and "exit status 3" in result["tests"][0][
        "reason"
    ]


def test_function_results_compare_by_value_outside_the_sandbox():
    assert values_equal(canonical((1, 2)), [1, 2])  # JSON has no tuples: function tasks accept either
    assert not values_equal(canonical(True), 1) and not values_equal(canonical(1), True)
    assert values_equal(canonical(0.1 + 0.2), 0.3) and not values_equal(canonical(0.31), 0.3)
    assert values_equal(canonical({"b": 1, "a": [1.0]}), {"a": [1], "b": 1})
    assert not compare(canonical((1, 2)), "==", canonical([1, 2]), tolerance=1e-9)  # asserts: Python's rule
    with pytest.raises(Unencodable):
        canonical(type("Sneaky", (int,), {"__eq__": lambda s, o: True})(3))


def test_assert_files_are_rewritten_so_the_comparison_happens_outside():
    parsed = parse_asserts(
        textwrap.dedent("""\
        import math
        def helper(x):
            return x
        assert f(1) == 2
        assert 3 == f(2)
        assert f(3) != [1, (2, 3)]
        assert f(4)
        assert not f(5)
        assert f(6) is None
        assert math.isclose(f(7), 1.5, rel_tol=1e-6)
        assert abs(f(8) - 2.5) < 1e-3
        assert f(9) in {1, 2}
        assert f(1) == f(2)
        def check(candidate):
            assert candidate(10) == 11
        check(f)
    """)
    )
    ops = [(t.kind, t.op) for t in parsed.tests]
    assert ops == [
        ("expr", "=="),
        ("expr", "=="),
        ("expr", "!="),
        ("expr", "truthy"),
        ("expr", "falsy"),
        ("expr", "is"),
        ("expr", "isclose"),
        ("expr", "isclose"),
        ("expr", "in"),
        ("stmt", ""),
        ("expr", "=="),
    ]
    assert parsed.tests[-1].source == "f(10)" and parsed.tests[-1].expected == 11
    assert parsed.opaque == 1 and "def helper" in parsed.setup and "import math" in parsed.setup
    assert "check(f)" not in parsed.setup


# --- every attack family against the local runner -------------------------------------------------

_SPY = textwrap.dedent("""\
    import os
    def _spy():
        found = [repr(dict(os.environ))]
        try:
            pids = os.listdir("/proc")
        except OSError as exc:
            pids, _ = [], found.append(type(exc).__name__)
        for name in ["/proc/%d/environ" % os.getppid(), "/proc/1/environ", "/proc/self/environ"] + [
                "/proc/%s/environ" % p for p in pids]:
            try:
                with open(name, "rb") as handle:
                    found.append(handle.read().decode("latin-1"))
            except Exception as exc:
                found.append(type(exc).__name__)
        for name in [os.path.expanduser("~/.aws/credentials"), "/root/.aws/credentials", "../../environ"]:
            try:
                found.append(open(name).read())
            except Exception as exc:
                found.append(type(exc).__name__)
        text = "|".join(found)
        with open("loot.txt", "w") as handle:
            handle.write(text)
        return text[-20000:]
""")
SPIES = {
    "function": _SPY + "def add(a, b):\n    return _spy()\n",
    "program": _SPY + "print(_spy())\n",
    "assert": _SPY + "def sq(x):\n    return _spy()\n",
}
_CHILD = textwrap.dedent("""\
    import json, sys
    from code_runner import run_batch
    request = json.load(sys.stdin)
    reply = run_batch(request)
    print(json.dumps(reply))
""")


@pytest.fixture(scope="module")
def hostile() -> dict[str, Any]:
    """Every attack of every family on each format, plus spies and the references, in one child process
    whose environment holds a fake AWS secret. Returns results by job id, the reply text and leftovers."""
    jobs = []
    for fmt, reference in TASKS.items():
        task, _ = read_task(reference)
        for (family, variant), program in programs(task).items():
            jobs.append(job(reference, program, f"{fmt}|{family}|{variant}", limits=FAST))
        jobs.append(job(reference, SPIES[fmt], f"{fmt}|spy|all", limits=FAST))
        jobs.append(job(reference, reference["solution"], f"{fmt}|reference|-", limits=FAST))
    tmp_root = tempfile.mkdtemp(prefix="hostile-")  # the child's sandboxes live here: ours to count
    env = {
        **os.environ,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET,
        "AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKE",
        "AWS_LAMBDA_FUNCTION_NAME": "nova-rft-reward",
        "PYTHONPATH": str(ROOT / "lambda_src"),
        "TMPDIR": tmp_root,
    }
    before = set(sandbox_processes(tmp_root))
    done = subprocess.run(
        [sys.executable, "-c", _CHILD],
        input=json.dumps({"version": 1, "jobs": jobs}),
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    leftovers = set(sandbox_processes(tmp_root)) - before
    left_dirs = os.listdir(tmp_root)  # every sample's directory must be gone
    if not left_dirs:
        os.rmdir(tmp_root)
    reply = json.loads(done.stdout)
    return {
        "results": {r["id"]: r for r in reply["results"]},
        "text": done.stdout,
        "leftovers": leftovers,
        "left_dirs": left_dirs,
        "jobs": jobs,
    }


#: (format, family) pairs that have no meaning: a program's stdout is text, so there is no object whose
#: ``__eq__`` could lie.
NOT_APPLICABLE = {("program", "always_equal")}


def test_every_family_is_attempted_on_every_format(hostile):
    """Per format, not the union: a family missing from one format would hide a hole in that format."""
    attempted = {tuple(job_id.split("|")[:2]) for job_id in hostile["results"]}
    missing = [
        (fmt, family)
        for fmt in TASKS
        for family in FAMILIES
        if (fmt, family) not in attempted and (fmt, family) not in NOT_APPLICABLE
    ]
    assert not missing, missing


def test_no_attack_passes_a_test_and_none_is_an_infrastructure_error(hostile):
    for job_id, result in hostile["results"].items():
        _, family, _ = job_id.split("|")
        if family == "reference":
            assert result["status"] == "ok" and result["passed"] == result["total"] == 3, (job_id, result)
            continue
        if family == "hardcode_examples":
            continue  # passes the visible example, by construction: see the next test
        assert result["status"] == "ok", (job_id, result["reason"])  # the program's failure, never "error"
        assert result["passed"] == 0, (job_id, result["reason"])


def test_hardcoded_examples_pass_only_the_examples(hostile):
    for fmt in TASKS:
        result = hostile["results"][f"{fmt}|hardcode_examples|lookup"]
        assert 0 <= result["passed"] < result["total"]


@pytest.mark.parametrize(
    ("job_id", "status"),
    [
        ("function|infinite_loop|busy", "timeout"),
        ("function|infinite_loop|at import", "not_run"),
        ("function|exit_early|os._exit(0)", "died"),
        ("function|exit_early|sys.exit(0)", "raised"),
        ("function|kill_parent|process group", "died"),
        ("function|always_equal|__eq__", "raised"),
        ("program|infinite_loop|busy", "timeout"),
        ("program|huge_output|print", "raised"),
    ],
)
def test_attacks_fail_for_the_reason_they_should(hostile, job_id, status):
    assert hostile["results"][job_id]["tests"][0]["status"] == status, hostile["results"][job_id]


def test_processes_threads_signals_and_network_are_refused(hostile):
    reasons = {k: v["tests"][0]["reason"] for k, v in hostile["results"].items()}
    assert "Operation not permitted" in reasons["function|fork_storm|os.fork"]
    assert "can't start new thread" in reasons["function|fork_storm|threads"]
    assert "Operation not permitted" in reasons["function|kill_parent|getppid"]
    assert "Operation not permitted" in reasons["function|kill_parent|kill -1"]


def test_the_secret_never_reaches_the_program(hostile):
    assert FAKE_SECRET not in hostile["text"] and "AKIAFAKEFAKEFAKE" not in hostile["text"]
    spy = hostile["results"]["function|spy|all"]["tests"][0]["reason"]
    assert "returned" in spy  # the spy ran and reported what it saw


def test_the_environment_is_empty_of_anything_inherited():
    program = "import os\ndef add(a, b):\n    return sorted(os.environ)\n"
    [result] = run(job(ADD, program))
    seen = result["tests"][0]["reason"]
    assert "AWS" not in seen and "LAMBDA" not in seen and "PYTHONPATH" not in seen
    assert '"HOME", "LANG", "LC_ALL", "PATH", "TMPDIR"' in seen


def test_no_process_outlives_the_batch(hostile):
    assert not hostile["leftovers"], hostile["leftovers"]
    assert not hostile["left_dirs"], hostile["left_dirs"]  # no directory or file left behind either


def test_the_leftover_check_can_fail():
    """A harness-looking process that is still running is seen by the check used above."""
    sleeper = subprocess.Popen([sys.executable, "-c", f"# {_MARKER}\nimport time\ntime.sleep(30)"])
    try:
        # Seen as soon as the kernel shows its command line (polled, bounded: on a busy machine that can
        # lag the fork by a moment); a sleeper that died instead is reported with its exit status.
        seen = False
        for _ in range(250):
            seen = sleeper.pid in sandbox_processes()
            if seen or sleeper.poll() is not None:
                break
            time.sleep(0.02)
        assert seen, f"not seen; exit status {sleeper.poll()}"
    finally:
        sleeper.kill()
        sleeper.wait()


def test_the_grading_process_survives_attacks_on_its_parent():
    """The child that ran the hostile batch printed its whole reply (it was not killed)."""
    program = (
        "import os, signal\ndef add(a, b):\n    os.kill(os.getppid(), signal.SIGKILL)\n    return a + b\n"
    )
    [result] = run(job(ADD, program, limits=FAST))
    assert result["status"] == "ok" and result["passed"] == 0
    # the kill was refused (raised in the program), which is why this process is still here to check it
    assert "PermissionError" in result["reason"], result["reason"]


# --- time limits, restarts, deadline ---------------------------------------------------------------


def test_one_slow_test_fails_alone_and_the_others_still_run():
    program = "def add(a, b):\n    if a == 2:\n        while True:\n            pass\n    return a + b\n"
    [result] = run(job(ADD, program, limits=FAST))
    assert [t["status"] for t in result["tests"]] == ["passed", "timeout", "passed"]


def test_the_sample_budget_bounds_a_program_that_loops_on_every_test():
    program = "def add(a, b):\n    while True:\n        pass\n"
    limits = {"test_timeout_s": 0.3, "sample_timeout_s": 0.5}
    [result] = run(job(ADD, program, limits=limits))
    statuses = [t["status"] for t in result["tests"]]
    assert statuses[0] == "timeout" and statuses[-1] == "not_run", statuses
    assert "budget" in result["tests"][-1]["reason"]


def test_stop_on_failure_skips_the_rest():
    [result] = run(job(ADD, "def add(a, b):\n    return 0\n", stop_on_failure=True))
    assert [t["status"] for t in result["tests"]] == ["wrong", "not_run", "not_run"]


def test_a_passed_batch_deadline_is_reported_as_deadline_not_as_a_failure():
    import time

    [result] = run(job(ADD, ADD["solution"]), deadline=time.monotonic() - 1)
    assert result["status"] == "error" and result["reason"].startswith("deadline")


def test_malformed_jobs_are_errors_of_ours_and_do_not_stop_the_batch():
    good = job(ADD, ADD["solution"], "good")
    results = run(
        {"id": "bad", "format": "function", "program": "x", "tests": []},
        good,
        {"id": "limits", **job(ADD, "x"), "limits": {"memory_mb": 1}},
    )
    assert [r["status"] for r in results] == ["error", "ok", "error"]
    assert "bad job" in results[0]["reason"] and "memory_mb" in results[2]["reason"]
    assert run_batch({"jobs": []})["results"] == []


def test_forged_records_on_the_results_channel_fail_the_test():
    """A record forged with the real nonce is impossible to guess; one for another test is out of turn."""
    assert "nonce" in HARNESS_SOURCE
    program = textwrap.dedent("""\
        import gc
        def add(a, b):
            for obj in gc.get_objects():
                if type(obj).__name__ == "Channel":
                    for i in range(3):
                        obj.send({"t": "result", "i": i, "ok": True, "value": 7})
            return a + b
    """)
    [result] = run(job(ADD, program))
    assert result["passed"] < 3 and any("forged" in t["reason"] for t in result["tests"]), result


def test_the_runner_lambda_handler_answers_within_its_own_deadline():
    """code_runner.handler derives its deadline from the invocation's remaining time, minus a margin."""
    from code_runner.handler import DEADLINE_MARGIN_S, lambda_handler

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return int(DEADLINE_MARGIN_S * 1000)  # nothing left once the margin is taken

    reply = lambda_handler({"version": 1, "jobs": [job(ADD, ADD["solution"])]}, Context())
    assert reply["results"][0]["status"] == "error" and reply["results"][0]["reason"].startswith("deadline")
    assert (
        lambda_handler({"version": 1, "jobs": [job(ADD, ADD["solution"])]}, None)["results"][0]["passed"] == 3
    )
