"""`rft baseline` against a Bedrock Runtime emulator that plays a policy model with known per-prompt
probabilities of answering correctly (tests/policy_runs.py), graded by the real reward handler.

Tolerances: each reported share and the mean reward must be within 3 standard errors of the value the
probabilities imply (the standard errors follow from the same probabilities). The emulator draws from
seeded per-prompt streams, so every run of these tests sees the same answers: nothing here is flaky,
and a wrong formula moves a number by far more than the tolerance.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from reward.dataset import validate_dataset_file
from rft import learnability, sampling
from rft.sampling import InferenceSettings, ResponseCache
from tests.bedrock_emulator import Script, bedrock_emulator
from tests.policy_runs import BASE_ID, GSM8K, implied, run_cli, write_task

PROBABILITIES = (0.0, 0.2, 0.5, 0.8, 1.0)
K = 4


def baseline_args(data: Path, out: Path, *extra: str) -> list[str]:
    return ["baseline", "--data", str(data), "--spec", GSM8K, "--out", str(out), "--samples", str(K), *extra]


@pytest.fixture(scope="module")
def throttled_run(tmp_path_factory):
    """160 prompts x 4 samples under 15% throttling and 5% server errors, then the same run again."""
    tmp = tmp_path_factory.mktemp("baseline")
    task = write_task(tmp, 160)
    probabilities = [PROBABILITIES[i % len(PROBABILITIES)] for i in range(160)]
    script = Script(
        throttle_fraction=0.15, server_error_fraction=0.05, policies={BASE_ID: task.policy(probabilities)}
    )
    with bedrock_emulator(script) as emu:
        first = run_cli([*baseline_args(task.path, tmp / "out"), "--yes", "--json", "--concurrency", "8"])
        requests_first = len(emu.requests)
        answered_first = len(emu.answered("ok"))
        second = run_cli([*baseline_args(task.path, tmp / "out"), "--yes", "--json"])
        requests_second = len(emu.requests) - requests_first
        bodies = [r.body for r in emu.requests[:3]]
    return {
        "first": first,
        "second": second,
        "requests_first": requests_first,
        "answered_first": answered_first,
        "requests_second": requests_second,
        "probabilities": probabilities,
        "out": tmp / "out",
        "bodies": bodies,
        "task": task,
    }


def test_the_json_report_has_the_keys_the_issue_names(throttled_run):
    code, out, err = throttled_run["first"]
    assert code == 0, err
    report = json.loads(out)
    for key in (
        "prompts",
        "samples_per_prompt",
        "mean_reward",
        "signal_share",
        "solved_share",
        "unsolved_share",
        "verdict",
        "tokens",
    ):
        assert key in report
    assert report["prompts"] == 160 and report["samples_per_prompt"] == K
    assert report["verdict"] == "learnable"
    assert "\r" not in err  # no progress bar with --json (and stderr is not a terminal)


def test_reported_numbers_match_what_the_probabilities_imply(throttled_run):
    report = json.loads(throttled_run["first"][1])
    expected = implied(throttled_run["probabilities"], K)
    for key in ("mean_reward", "signal_share", "solved_share", "unsolved_share"):
        tolerance = 3 * expected[f"{key}_se"]
        assert abs(report[key] - expected[key]) <= tolerance, (key, report[key], expected[key], tolerance)
    # Right answers pay +1 and wrong ones -1: the pass rate is the mean reward mapped to [0, 1].
    assert report["pass_rate"] == pytest.approx((report["mean_reward"] + 1) / 2)


def test_throttled_and_failing_calls_lose_no_sample(throttled_run):
    report = json.loads(throttled_run["first"][1])
    assert throttled_run["answered_first"] == 160 * K  # every sample answered exactly once
    assert report["samples_graded"] == 160 * K
    assert report["calls"]["throttled"] > 0 and report["calls"]["failed"] == 0
    # every call the emulator refused was retried: calls = answers + refusals
    assert report["calls"]["made"] == throttled_run["requests_first"]
    assert report["calls"]["retried"] == throttled_run["requests_first"] - 160 * K
    lines = (throttled_run["out"] / "baseline.jsonl").read_text().splitlines()
    assert len(lines) == 160 * K
    assert {json.loads(line)["state"] for line in lines} == {"graded"}


def test_a_second_identical_run_makes_zero_calls_and_reports_the_same(throttled_run):
    code, out, err = throttled_run["second"]
    assert code == 0, err
    assert throttled_run["requests_second"] == 0
    first, second = json.loads(throttled_run["first"][1]), json.loads(out)
    assert second["calls"]["made"] == 0 and second["calls"]["cached"] == 160 * K
    for key in ("mean_reward", "signal_share", "solved_share", "unsolved_share", "verdict"):
        assert second[key] == first[key]


def test_the_request_mirrors_the_training_settings(throttled_run):
    """Row's system turn as `system`, user turn as a message, reasoning as documented for Nova 2."""
    body = throttled_run["bodies"][0]
    assert body["system"] == [{"text": "You are a careful math tutor."}]
    assert body["messages"][0]["role"] == "user"
    assert body["additionalModelRequestFields"] == {
        "reasoningConfig": {"type": "enabled", "maxReasoningEffort": "high"}  # cdk.json's reasoning_effort
    }


def test_files_are_written(throttled_run):
    out = throttled_run["out"]
    assert (out / "baseline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "baseline.json").read_text())["verdict"] == "learnable"


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path, monkeypatch):
    task = write_task(tmp_path, 30)
    probabilities = [0.5] * 30
    real_put = ResponseCache.put
    written = {"n": 0}

    def put_then_interrupt(self, response):
        if written["n"] == 25:
            raise KeyboardInterrupt  # Ctrl-C after 25 responses were stored
        real_put(self, response)
        written["n"] += 1

    with bedrock_emulator(Script(policies={BASE_ID: task.policy(probabilities)})) as emu:
        monkeypatch.setattr(ResponseCache, "put", put_then_interrupt)
        code, _, err = run_cli([*baseline_args(task.path, tmp_path / "out"), "--yes", "--concurrency", "1"])
        assert code == 130 and "interrupted" in err and "Traceback" not in err
        monkeypatch.setattr(ResponseCache, "put", real_put)
        cached = len((tmp_path / "out" / "cache" / "responses.jsonl").read_text().splitlines())
        assert cached == 25
        before = len(emu.requests)
        code, out, err = run_cli([*baseline_args(task.path, tmp_path / "out"), "--yes", "--json"])
        assert code == 0, err
        assert len(emu.requests) - before == 30 * K - 25  # only the missing samples are paid for
        report = json.loads(out)
        assert report["calls"]["cached"] == 25 and report["samples_graded"] == 30 * K


def test_a_torn_cache_line_from_a_killed_run_is_redone(tmp_path):
    task = write_task(tmp_path, 5)
    with bedrock_emulator(Script(policies={BASE_ID: task.policy([1.0] * 5)})) as emu:
        assert run_cli([*baseline_args(task.path, tmp_path / "out"), "--yes"])[0] == 0
        cache = tmp_path / "out" / "cache" / "responses.jsonl"
        lines = cache.read_text().splitlines(keepends=True)
        cache.write_text("".join(lines[:-1]) + lines[-1][:40])  # kill -9 in the middle of the last write
        before = len(emu.requests)
        code, out, err = run_cli([*baseline_args(task.path, tmp_path / "out"), "--yes", "--json"])
        assert code == 0, err
        assert len(emu.requests) - before == 1
        assert json.loads(out)["samples_graded"] == 5 * K
    assert len(ResponseCache(cache.parent)) == 5 * K


def test_without_a_terminal_and_without_yes_it_exits_2_before_any_call(tmp_path):
    task = write_task(tmp_path, 3)
    with bedrock_emulator(Script(policies={BASE_ID: task.policy([0.5] * 3)})) as emu:
        code, _out, err = run_cli(baseline_args(task.path, tmp_path / "out"))
        assert emu.requests == []
    assert code == 2
    lines = err.strip().splitlines()
    assert lines[-1].startswith("rft baseline: error:") and "--yes" in lines[-1]
    assert "cost estimate:" in err and "Traceback" not in err


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def estimate_of(usd_calls: int) -> sampling.prices.Estimate:
    return sampling.prices.Estimate(BASE_ID, usd_calls, 0, 1_000_000 * usd_calls, 0, 0, (1.0, 1.0))


def test_above_the_threshold_a_terminal_is_asked_and_no_means_no():
    err = io.StringIO()
    with pytest.raises(sampling.CliError) as info:
        sampling.confirm([estimate_of(5)], yes=False, err=err, stdin=FakeTty("n\n"))
    assert info.value.code == 2 and "[y/N]" in err.getvalue()
    sampling.confirm([estimate_of(5)], yes=False, err=io.StringIO(), stdin=FakeTty("y\n"))


def test_below_the_threshold_a_terminal_is_not_asked():
    stdin = FakeTty("")  # reading from it would return "" (= no): not asked, so no error
    sampling.confirm([estimate_of(0)], yes=False, err=io.StringIO(), stdin=stdin)


def test_write_learnable_keeps_the_rows_with_signal_and_a_share_of_the_solved(tmp_path):
    task = write_task(tmp_path, 40)
    probabilities = [(0.0, 0.5, 1.0, 1.0)[i % 4] for i in range(40)]  # 10 never, ~9 signal, 20 always
    learnable = tmp_path / "learnable.jsonl"
    with bedrock_emulator(Script(policies={BASE_ID: task.policy(probabilities)})):
        code, out, err = run_cli(
            [
                *baseline_args(task.path, tmp_path / "out"),
                "--yes",
                "--json",
                "--write-learnable",
                str(learnable),
                "--keep-solved",
                "0.25",
            ]
        )
    assert code == 0, err
    report = json.loads(out)
    samples = [json.loads(line) for line in (tmp_path / "out" / "baseline.jsonl").read_text().splitlines()]
    by_prompt: dict[int, list[float]] = {}
    for s in samples:
        by_prompt.setdefault(s["prompt_index"], []).append(s["aggregate"])
    signal = {i for i, rewards in by_prompt.items() if max(rewards) > min(rewards)}
    solved = {i for i, rewards in by_prompt.items() if min(rewards) == 1.0}
    written = [json.loads(line) for line in learnable.read_text().splitlines()]
    ids = {row["task_id"] for row in written}
    assert {f"sum-{i:04d}" for i in signal} <= ids
    assert len(written) == len(signal) + round(0.25 * len(solved))
    assert not ids & {f"sum-{i:04d}" for i in by_prompt if max(by_prompt[i]) == -1.0}  # never-solved dropped
    assert report["learnable"]["rows"] == len(written)
    assert validate_dataset_file(learnable, min_rows=0).ok


@pytest.mark.parametrize(
    ("shares", "verdict"),
    [
        ({"pass_rate": 0.97, "solved_share": 0.5, "unsolved_share": 0.0, "signal_share": 0.5}, "too_easy"),
        ({"pass_rate": 0.7, "solved_share": 0.92, "unsolved_share": 0.0, "signal_share": 0.08}, "too_easy"),
        ({"pass_rate": 0.03, "solved_share": 0.0, "unsolved_share": 0.5, "signal_share": 0.5}, "too_hard"),
        ({"pass_rate": 0.2, "solved_share": 0.0, "unsolved_share": 0.91, "signal_share": 0.09}, "too_hard"),
        ({"pass_rate": 0.5, "solved_share": 0.2, "unsolved_share": 0.2, "signal_share": 0.6}, "learnable"),
        ({"pass_rate": 0.5, "solved_share": 0.5, "unsolved_share": 0.45, "signal_share": 0.05}, "too_easy"),
        ({"pass_rate": 0.4, "solved_share": 0.4, "unsolved_share": 0.55, "signal_share": 0.05}, "too_hard"),
    ],
)
def test_verdict_thresholds(shares, verdict):
    assert learnability.verdict(shares) == verdict


def test_a_model_bedrock_does_not_know_stops_the_run_with_what_to_fix(tmp_path):
    task = write_task(tmp_path, 3)
    with bedrock_emulator(Script(policies={BASE_ID: task.policy([0.5] * 3)})) as emu:
        code, _, err = run_cli(
            [*baseline_args(task.path, tmp_path / "out"), "--yes", "--model", "us.amazon.nova-typo-v1:0"]
        )
        assert len(emu.requests) <= 8  # stops sending after the first refusal (the calls already in flight)
    assert code == 1 and "--model" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 2  # the cost estimate, then one error line


def test_access_denied_names_the_permission(tmp_path):
    task = write_task(tmp_path, 3)
    with bedrock_emulator(Script(error="AccessDeniedException")):
        code, _, err = run_cli([*baseline_args(task.path, tmp_path / "out"), "--yes"])
    assert code == 1 and "bedrock:InvokeModel" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--samples", "0"], "--samples"),
        (["--keep-solved", "0.5"], "--write-learnable"),
        (["--write-learnable", "x.jsonl", "--keep-solved", "2"], "--keep-solved"),
        (["--stack", "nova-rft"], "--remote"),
        (["--remote"], "--stack"),
        (["--via", "batch"], "--via batch needs --stack"),
        (["--temperature", "3"], "--temperature"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(tmp_path, extra, message):
    task = write_task(tmp_path, 2)
    code, _, err = run_cli([*baseline_args(task.path, tmp_path / "out"), "--yes", *extra])
    assert code == 2 and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_missing_spec_or_dataset_is_a_usage_error(tmp_path):
    code, _, err = run_cli(["baseline", "--data", str(tmp_path / "none.jsonl"), "--spec", GSM8K, "--yes"])
    assert code == 2 and "none.jsonl" in err
    task = write_task(tmp_path, 2)
    code, _, err = run_cli(
        ["baseline", "--data", str(task.path), "--spec", str(tmp_path / "x.toml"), "--yes"]
    )
    assert code == 2 and "x.toml" in err


@pytest.mark.parametrize(
    ("effort", "inference", "fields"),
    [
        ("none", {"maxTokens": 512, "temperature": 0.7}, None),
        (
            "low",
            {"maxTokens": 512, "temperature": 0.7},
            {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": "low"}},
        ),
        ("high", None, {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": "high"}}),
    ],
)
def test_reasoning_effort_becomes_the_documented_converse_fields(effort, inference, fields):
    request = InferenceSettings(max_tokens=512, reasoning_effort=effort, temperature=0.7).converse_fields()
    assert request.get("inferenceConfig") == inference
    assert request.get("additionalModelRequestFields") == fields


def test_the_converse_request_is_valid_for_botocore():
    """Validated against bedrock-runtime's service model by botocore's own parameter validator."""
    from botocore.session import get_session
    from botocore.validate import ParamValidator

    from rft.rows import Row

    row = Row(1, {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]})
    model = get_session().get_service_model("bedrock-runtime").operation_model("Converse").input_shape
    for effort in ("none", "low", "high"):
        (request,) = sampling.build_requests([row], BASE_ID, InferenceSettings(100, effort, 0.5), 1)
        report = ParamValidator().validate(request.converse_request(), model)
        assert not report.has_errors(), report.generate_report()


def test_the_cache_key_changes_with_everything_that_defines_a_sample():
    settings = InferenceSettings(100, "low")
    key = sampling.cache_key(BASE_ID, settings, ["s"], [("user", "u")], 0)
    assert key == sampling.cache_key(BASE_ID, settings, ["s"], [("user", "u")], 0)
    others = {
        sampling.cache_key("us.amazon.nova-pro-v1:0", settings, ["s"], [("user", "u")], 0),
        sampling.cache_key(BASE_ID, InferenceSettings(101, "low"), ["s"], [("user", "u")], 0),
        sampling.cache_key(BASE_ID, InferenceSettings(100, "high"), ["s"], [("user", "u")], 0),
        sampling.cache_key(BASE_ID, settings, ["t"], [("user", "u")], 0),
        sampling.cache_key(BASE_ID, settings, ["s"], [("user", "v")], 0),
        sampling.cache_key(BASE_ID, settings, ["s"], [("user", "u")], 1),
    }
    assert key not in others and len(others) == 6


def test_a_run_killed_with_sigkill_resumes_and_pays_only_for_the_rest(tmp_path):
    """A real crash: `rft baseline` in a subprocess, killed -9 once some responses are cached; the rerun
    calls the model only for the samples the cache does not hold."""
    import os
    import signal
    import subprocess
    import sys
    import time

    task = write_task(tmp_path, 40)
    cache = tmp_path / "out" / "cache" / "responses.jsonl"
    argv = [*baseline_args(task.path, tmp_path / "out"), "--yes", "--concurrency", "2"]
    with bedrock_emulator(Script(latency_s=0.05, policies={BASE_ID: task.policy([0.5] * 40)})) as emu:
        child = subprocess.Popen(
            [sys.executable, "-m", "rft.cli", *argv],
            env={**os.environ, "PYTHONPATH": os.pathsep.join([".", "lambda_src"])},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(600):  # wait (at most ~60 s) until a few responses are stored
                if cache.is_file() and len(cache.read_bytes().splitlines()) >= 10:
                    break
                time.sleep(0.1)
            child.send_signal(signal.SIGKILL)
        finally:
            child.wait()
        assert child.returncode == -signal.SIGKILL
        stored = len(ResponseCache(cache.parent))
        assert 10 <= stored < 40 * K
        before = len(emu.requests)
        code, out, err = run_cli([*argv, "--json"])
        assert code == 0, err
        assert len(emu.requests) - before == 40 * K - stored
        assert json.loads(out)["samples_graded"] == 40 * K


def test_no_credentials_is_one_line_that_says_how_to_get_them(tmp_path, monkeypatch):
    task = write_task(tmp_path, 2)
    with bedrock_emulator(Script(policies={BASE_ID: task.policy([0.5, 0.5])})) as emu:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
        code, _, err = run_cli([*baseline_args(task.path, tmp_path / "out"), "--yes"])
        assert emu.requests == []
    assert code == 1 and "no AWS credentials" in err and "Traceback" not in err


def test_grades_are_cached_per_spec_a_changed_spec_regrades_without_resampling(tmp_path):
    task = write_task(tmp_path, 5)
    spec = tmp_path / "spec.toml"
    spec.write_text(Path(GSM8K).read_text())
    grades = tmp_path / "out" / "cache" / "grades.jsonl"
    argv = ["baseline", "--data", str(task.path), "--spec", str(spec), "--out", str(tmp_path / "out")]
    argv += ["--samples", str(K), "--yes", "--json"]
    with bedrock_emulator(Script(policies={BASE_ID: task.policy([0.5] * 5)})) as emu:
        assert run_cli(argv)[0] == 0
        assert len(grades.read_text().splitlines()) == 5 * K
        assert run_cli(argv)[0] == 0
        assert len(grades.read_text().splitlines()) == 5 * K  # identical rerun: nothing regraded
        # (a changed spec under a new name: the handler loads a spec once per path and process)
        changed = tmp_path / "changed.toml"
        changed.write_text(spec.read_text().replace("target = 150", "target = 140"))
        calls = len(emu.requests)
        code, _, err = run_cli([a if a != str(spec) else str(changed) for a in argv])
        assert code == 0, err
        assert len(emu.requests) == calls  # the responses come from the cache
    assert len(grades.read_text().splitlines()) == 2 * 5 * K  # every sample graded again under the new spec


def test_calls_in_flight_at_an_interruption_are_kept_when_they_finish(tmp_path, monkeypatch):
    """Ctrl-C stops sending; the calls already running were paid for, and their answers are cached."""
    from reward import bedrock_runtime

    task = write_task(tmp_path, 30)
    real_put = ResponseCache.put
    written = {"n": 0, "interrupted": False}

    def put_then_interrupt(self, response):
        if written["n"] == 25 and not written["interrupted"]:
            written["interrupted"] = True
            raise KeyboardInterrupt
        real_put(self, response)
        written["n"] += 1

    argv = [*baseline_args(task.path, tmp_path / "out"), "--yes", "--concurrency", "4"]
    with bedrock_emulator(Script(latency_s=0.05, policies={BASE_ID: task.policy([0.5] * 30)})) as emu:
        monkeypatch.setattr(ResponseCache, "put", put_then_interrupt)
        code, _, _ = run_cli(argv)
        assert code == 130
        bedrock_runtime.executor(1).shutdown(wait=True)  # let the calls in flight finish
        bedrock_runtime.reset()  # (a new process would start with a fresh pool)
        sent = len(emu.requests)
        monkeypatch.setattr(ResponseCache, "put", real_put)
        cached = len(ResponseCache(tmp_path / "out" / "cache"))
        # the other calls in flight when the 26th answer was interrupted (at most 3 at concurrency 4; how
        # many were already sent depends on the scheduler) finished and were cached
        assert 25 <= cached <= 25 + 3
        assert sent == cached + 1  # nothing was sent after the interruption
        code, _, err = run_cli([*argv, "--json"])
        assert code == 0, err
        assert len(emu.requests) - sent == 30 * K - cached


def test_when_nothing_can_be_graded_there_is_no_verdict_but_the_samples_are_written(tmp_path):
    """Rows without the reference the spec needs: `no_reference` is not a wrong answer, so no verdict."""
    task = write_task(tmp_path, 3)
    rows = [json.loads(line) for line in task.path.read_text().splitlines()]
    for row in rows:
        row["reference_answer"] = {"other_key": "1"}
    task.path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with bedrock_emulator(Script(policies={BASE_ID: task.policy([0.5] * 3)})):
        code, _, err = run_cli([*baseline_args(task.path, tmp_path / "out"), "--yes"])
    assert code == 1 and "no verdict" in err and "no_reference" in err and "Traceback" not in err
    lines = (tmp_path / "out" / "baseline.jsonl").read_text().splitlines()
    assert len(lines) == 3 * K and {json.loads(line)["state"] for line in lines} == {"not_graded"}
