"""The reward handler's telemetry: EMF metrics valid against AWS's schema and named as the dashboard
expects, correct values, structured logs without prompt text, and never a failed batch because of it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest

from reward import metric_names, telemetry
from reward.grading import grade_event
from reward.results import DimensionResult, Status
from reward.spec import load_spec
from tests.emf import emf_documents, emitted_metric_names, metric_definitions, metric_values, validate_emf

ROOT = Path(__file__).resolve().parents[1]
GSM8K = ROOT / "reward_specs" / "gsm8k.toml"
SPEC = load_spec(GSM8K)
DIMENSIONS = ("correctness", "format", "conciseness")
NAMESPACE = "NovaRft/test-telemetry"
PROMPT_MARKER = "PROMPT-MARKER-7f3a"  # appears in every prompt: must never reach an INFO line


def element(i: int | str, response: str, reference: str | None = "42") -> dict:
    metadata = {"reference_answer": {"final_answer": reference}} if reference is not None else {}
    return {
        "id": i if isinstance(i, str) else f"sample-{i}",
        "messages": [
            {"role": "user", "content": f"{PROMPT_MARKER} How many apples are there? End with #### <answer>"},
            {"role": "assistant", "content": response},
        ],
        "metadata": metadata,
    }


#: 3 right answers (reward 1) and 2 bad ones: a wrong number (-1) and no final answer (unscorable, -1).
KNOWN_BATCH = [
    element(0, "6 * 7 = 42.\n#### 42"),
    element(1, "Six times seven is 42.\n#### 42"),
    element(2, "#### 42"),
    element(3, "6 * 7 = 41.\n#### 41"),
    element(4, "I am not sure."),
]


class Context:
    aws_request_id = "c0ffee00-1111-2222-3333-444455556666"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@pytest.fixture
def on_lambda(monkeypatch):
    """The environment the stack gives the function: metrics on, a namespace, INFO logs."""
    monkeypatch.setenv(metric_names.NAMESPACE_ENV, NAMESPACE)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "reward-test")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    level = telemetry.logger.level
    telemetry.logger.setLevel("INFO")
    yield
    telemetry.logger.setLevel(level)


def run(event, capsys, context=None):
    """(reply, EMF documents, log lines as dicts, raw stdout) of grading one batch with the GSM8K spec, as
    the handler does (``grade_event``)."""
    capsys.readouterr()
    reply = grade_event(SPEC, event, context=context if context is not None else Context())
    captured = capsys.readouterr()
    logs = [json.loads(line) for line in captured.err.splitlines() if line.startswith("{")]
    return reply, emf_documents(captured.out), logs, captured.out


# --------------------------------------------------------------------------------------------------
# EMF: schema, names, values


def test_every_emf_line_is_valid_against_the_aws_schema(on_lambda, capsys):
    """CloudWatch silently drops an invalid EMF document: every line must pass AWS's schema."""
    _, documents, _, stdout = run(KNOWN_BATCH, capsys)
    assert documents, "no EMF printed"
    validate_emf(documents)
    # stdout carries EMF only (logs go to stderr), one document per line
    assert len(documents) == len(stdout.strip().splitlines())


def test_the_schema_rejects_what_cloudwatch_rejects():
    """The schema check can fail: too many values, a string metric, a missing target, a bad unit."""
    good = {
        "_aws": {
            "Timestamp": 1,
            "CloudWatchMetrics": [
                {"Namespace": "N", "Dimensions": [["service"]], "Metrics": [{"Name": "M"}]}
            ],
        },
        "service": "reward",
        "M": [1.0],
    }
    validate_emf([good])
    bad_documents = [
        {**good, "M": [1.0] * 101},
        {**good, "M": "1"},
        {k: v for k, v in good.items() if k != "M"},
        {**good, "service": 3},
        {**good, "_aws": {**good["_aws"], "Timestamp": "now"}},
    ]
    unit = json.loads(json.dumps(good))
    unit["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = "Apples"
    for document in [*bad_documents, unit]:
        with pytest.raises(jsonschema.ValidationError):
            validate_emf([document])


def test_metric_names_are_the_ones_the_dashboard_charts(on_lambda, capsys):
    """One source of truth: the names printed equal metric_names.metric_names(spec dimensions)."""
    _, documents, _, stdout = run(KNOWN_BATCH, capsys)
    assert emitted_metric_names(stdout) == set(metric_names.metric_names(DIMENSIONS, judge=False))
    for document in documents:
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == NAMESPACE
        assert directive["Dimensions"] == [[metric_names.SERVICE_DIMENSION]]
        assert document[metric_names.SERVICE_DIMENSION] == metric_names.SERVICE


def test_no_sample_id_reaches_metric_names_or_dimensions(on_lambda, capsys):
    """Bounded cardinality: a sample id in a name or dimension would create a metric per sample."""
    _, documents, _, _ = run(KNOWN_BATCH, capsys)
    for document in documents:
        text = json.dumps(document["_aws"]) + json.dumps(document[metric_names.SERVICE_DIMENSION])
        assert "sample-" not in text


def test_values_of_a_known_batch(on_lambda, capsys):
    """3 right + 2 bad answers: rewards, per-dimension rewards, status counts, sizes and units."""
    reply, documents, _, _ = run(KNOWN_BATCH, capsys)
    assert len(documents) == 1
    assert metric_values(documents, "Reward") == [1.0, 1.0, 1.0, -1.0, -1.0]
    assert [e["aggregate_reward_score"] for e in reply] == [1.0, 1.0, 1.0, -1.0, -1.0]
    for dimension in DIMENSIONS:
        assert metric_values(documents, f"Reward.{dimension}") == [1.0, 1.0, 1.0, -1.0, -1.0]
    counts = {status: metric_values(documents, f"Status.{status}") for status in Status}
    assert counts == {
        Status.OK: [14.0],
        Status.UNSCORABLE: [1.0],  # "I am not sure." has no final answer
        Status.NO_REFERENCE: [0.0],
        Status.ERROR: [0.0],
        Status.TIMEOUT: [0.0],
        Status.DEADLINE: [0.0],
        Status.FAILED: [0.0],
    }
    assert metric_values(documents, "Results") == [15.0]
    assert metric_values(documents, "BatchSize") == [5.0]
    (latency,) = metric_values(documents, "GradingLatency")
    assert 0 < latency < 10_000
    units = {m["Name"]: m.get("Unit") for m in metric_definitions(documents[0])}
    assert (
        units["Reward"] == "None"
        and units["Status.ok"] == "Count"
        and units["GradingLatency"] == "Milliseconds"
    )


def test_excluded_dimension_results_are_counted_not_charted_as_rewards(on_lambda, capsys):
    """A row without a reference: Status.no_reference counts it; Reward.<dim> has no fake 0 for it."""
    _, documents, _, _ = run([*KNOWN_BATCH[:2], element("no-ref", "#### 42", reference=None)], capsys)
    assert metric_values(documents, "Status.no_reference") == [3.0]
    assert metric_values(documents, "Reward.correctness") == [1.0, 1.0]
    assert metric_values(documents, "Reward") == [1.0, 1.0, 0.0]  # what training was paid


def test_a_batch_of_250_samples_is_split_into_valid_documents(on_lambda, capsys):
    """EMF allows 100 values per metric per document: 250 samples -> 3 documents, every value kept."""
    event = [element(i, "#### 42" if i % 3 else "#### 41") for i in range(250)]
    reply, documents, _, _ = run(event, capsys)
    validate_emf(documents)
    assert len(documents) == 3
    for document in documents:
        for definition in metric_definitions(document):
            target = document[definition["Name"]]
            assert not isinstance(target, list) or len(target) <= 100
    assert metric_values(documents, "Reward") == [e["aggregate_reward_score"] for e in reply]
    assert len(metric_values(documents, "Reward.correctness")) == 250
    assert metric_values(documents, "BatchSize") == [250.0]
    assert sum(sum(metric_values(documents, f"Status.{s}")) for s in Status) == 750
    assert metric_values(documents, "Results") == [750.0]


def test_document_splitting_respects_both_limits():
    """At most 100 metrics and 100 values per metric per document, whatever the spec and batch size."""
    series = [(f"M{i}", "None", [float(i)] * (250 if i < 3 else 1)) for i in range(150)]
    series.append(("Empty", "None", []))
    documents = telemetry.emf_documents(series)
    assert all(len(document) <= 100 for document in documents)
    assert all(len(m["Value"]) <= 100 for document in documents for m in document.values())
    for name, _, values in series:
        assert [v for document in documents for v in document.get(name, {}).get("Value", [])] == values


def test_metrics_stay_off_stdout_locally(monkeypatch, capsys):
    """Locally (no AWS_LAMBDA_FUNCTION_NAME), `rft score` and friends must not print EMF."""
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    reply, documents, _, _ = run(KNOWN_BATCH, capsys)
    assert len(reply) == 5 and documents == []
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")  # forced on
    assert run(KNOWN_BATCH, capsys)[1]
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "reward-test")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")  # forced off, even on Lambda
    assert run(KNOWN_BATCH, capsys)[1] == []


def test_namespace_defaults_for_local_runs(on_lambda, monkeypatch, capsys):
    monkeypatch.delenv(metric_names.NAMESPACE_ENV)
    _, documents, _, _ = run(KNOWN_BATCH, capsys)
    assert documents[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == metric_names.DEFAULT_NAMESPACE


# --------------------------------------------------------------------------------------------------
# Judge usage


class JudgeSpec:
    """What telemetry reads from a spec: a judge dimension next to a plain one."""

    name = "judged"
    dimensions = (SimpleNamespace(name="helpfulness"), SimpleNamespace(name="correctness"))
    graders_used = {"judge", "numeric"}
    uses_judge = True


def judged(calls: float, throttles: float, retries: float, tokens_in: float, tokens_out: float) -> list:
    usage = {
        "judge_calls": calls,
        "judge_throttles": throttles,
        "judge_retries": retries,
        "judge_input_tokens": tokens_in,
        "judge_output_tokens": tokens_out,
        "criterion_accurate": 0.75,
    }
    return [
        DimensionResult("helpfulness", 0.5, Status.OK, True, "", usage),
        DimensionResult("correctness", 1.0, Status.OK, True),
    ]


def test_judge_usage_is_summed_over_the_batch(on_lambda, capsys):
    """JudgeCalls, JudgeThrottles, ... are the batch sums of the judge's per-sample diagnostics."""
    import time

    samples = [SimpleNamespace(id=f"s{i}", response="r", user_text="u") for i in range(3)]
    outcomes = [
        (0.7, judged(1, 0, 0, 900, 120)),
        (0.7, judged(1, 2, 2, 950, 130)),
        (-1.0, judged(0, 0, 0, 0, 0)),  # a pre-check verdict: no call
    ]
    capsys.readouterr()
    telemetry.record_batch(JudgeSpec(), samples, outcomes, started=time.monotonic(), grading_ms=12.0)
    captured = capsys.readouterr()
    documents = emf_documents(captured.out)
    validate_emf(documents)
    assert emitted_metric_names(documents) == set(
        metric_names.metric_names(["helpfulness", "correctness"], judge=True)
    )
    assert metric_values(documents, metric_names.JUDGE_CALLS) == [2.0]
    assert metric_values(documents, metric_names.JUDGE_THROTTLES) == [2.0]
    assert metric_values(documents, metric_names.JUDGE_RETRIES) == [2.0]
    assert metric_values(documents, metric_names.JUDGE_INPUT_TOKENS) == [1850.0]
    assert metric_values(documents, metric_names.JUDGE_OUTPUT_TOKENS) == [250.0]
    (batch_line,) = [json.loads(x) for x in captured.err.splitlines() if '"batch graded"' in x]
    assert batch_line["judge"] == {
        "judge_calls": 2,
        "judge_throttles": 2,
        "judge_retries": 2,
        "judge_input_tokens": 1850,
        "judge_output_tokens": 250,
    }


def test_specs_without_a_judge_emit_no_judge_metrics(on_lambda, capsys):
    _, _, logs, stdout = run(KNOWN_BATCH, capsys)
    assert not {n for n in emitted_metric_names(stdout) if n.startswith("Judge")}
    assert "judge" not in next(line for line in logs if line["message"] == "batch graded")


# --------------------------------------------------------------------------------------------------
# Logs


def test_one_info_line_per_batch_with_counts_and_timings(on_lambda, capsys):
    """The batch line is JSON with what an operator needs, and no prompt or response text."""
    _, _, logs, _ = run(KNOWN_BATCH, capsys)
    info = [line for line in logs if line["level"] == "INFO"]
    assert [line["message"] for line in info] == ["batch graded"]
    (line,) = info
    assert line["service"] == "reward"
    assert line["spec"] == "gsm8k"
    assert line["samples"] == 5
    assert line["statuses"] == {"ok": 14, "unscorable": 1}
    assert line["unscorable_sample_ids"] == ["sample-4"]  # non-ok samples are named, without their text
    assert line["failed"] == 0
    assert line["reward_mean"] == pytest.approx(0.2)
    assert line["dimension_mean"] == {"correctness": 0.2, "format": 0.2, "conciseness": 0.2}
    assert line["duration_ms"] >= line["grading_ms"] >= 0
    assert line["function_request_id"] == Context.aws_request_id
    assert isinstance(line["cold_start"], bool)
    assert all(PROMPT_MARKER not in json.dumps(entry) for entry in logs)
    assert all("6 * 7" not in json.dumps(entry) for entry in logs)


def test_debug_gives_one_line_per_sample_with_truncated_text(on_lambda, capsys):
    telemetry.logger.setLevel("DEBUG")
    long_answer = "word " * 500 + "\n#### 42"
    _, _, logs, _ = run([*KNOWN_BATCH, element("long", long_answer)], capsys)
    per_sample = [line for line in logs if line["message"] == "sample graded"]
    assert [line["sample_id"] for line in per_sample] == [f"sample-{i}" for i in range(5)] + ["long"]
    assert all(line["level"] == "DEBUG" for line in per_sample)
    assert per_sample[0]["dimensions"]["correctness"] == {"score": 1.0, "status": "ok", "reason": ""}
    assert PROMPT_MARKER in per_sample[0]["prompt_preview"]
    assert len(per_sample[-1]["response_preview"]) < 260 and per_sample[-1]["response_preview"].endswith(
        "chars]"
    )


def test_a_failed_dimension_is_logged_with_its_sample_id(on_lambda, capsys):
    """Statuses that say nothing about the response get a line each (WARNING: shown at INFO)."""
    _, _, logs, _ = run([*KNOWN_BATCH, element("row-without-reference", "#### 42", reference=None)], capsys)
    failed = [line for line in logs if line["message"] == "dimension not graded"]
    assert {(line["sample_id"], line["dimension"], line["status"]) for line in failed} == {
        ("row-without-reference", d, "no_reference") for d in DIMENSIONS
    }
    assert all(line["level"] == "WARNING" and line["reason"] for line in failed)
    assert all(PROMPT_MARKER not in json.dumps(line) for line in failed)
    batch = next(line for line in logs if line["message"] == "batch graded")
    assert batch["failed"] == 3 and batch["statuses"]["no_reference"] == 3


def test_failed_lines_are_capped_per_batch(on_lambda, capsys):
    """A batch that hits its deadline must not write a line per sample and dimension."""
    event = [element(i, "#### 42", reference=None) for i in range(30)]
    _, _, logs, _ = run(event, capsys)
    failed = [line for line in logs if line["message"] == "dimension not graded"]
    assert len(failed) == telemetry.MAX_PROBLEM_LINES
    batch = next(line for line in logs if line["message"] == "batch graded")
    assert batch["failed"] == 90 and batch["failed_lines_suppressed"] == 90 - telemetry.MAX_PROBLEM_LINES


def test_warning_level_hides_the_batch_line(on_lambda, capsys):
    telemetry.logger.setLevel("WARNING")
    _, documents, logs, _ = run(KNOWN_BATCH, capsys)
    assert logs == [] and documents  # metrics do not depend on the log level


# --------------------------------------------------------------------------------------------------
# Never fail the batch


def test_a_telemetry_failure_never_fails_the_batch(on_lambda, capsys, monkeypatch):
    """Metrics or logging blowing up (even the error log) must still answer every sample."""
    expected = grade_event(SPEC, KNOWN_BATCH, context=Context())

    def explode(*args, **kwargs):
        raise RuntimeError("CloudWatch is on fire")

    monkeypatch.setattr(telemetry, "_emit_metrics", explode)
    reply, documents, logs, _ = run(KNOWN_BATCH, capsys)
    assert reply == expected and documents == []
    assert any(line["message"].startswith("telemetry failed") and line["level"] == "ERROR" for line in logs)

    monkeypatch.setattr(telemetry, "_record", explode)
    monkeypatch.setattr(telemetry.logger, "exception", explode)
    monkeypatch.setattr(telemetry.logger, "append_keys", explode)
    assert run(KNOWN_BATCH, capsys)[0] == expected


def test_a_context_without_a_request_id_is_fine(on_lambda, capsys):
    reply, _, logs, _ = run(KNOWN_BATCH, capsys, context=object())
    assert len(reply) == 5
    assert "function_request_id" not in next(line for line in logs if line["message"] == "batch graded")


# --------------------------------------------------------------------------------------------------
# Cold start


def test_importing_the_handler_loads_no_boto3_and_no_xray_sdk():
    """Cold start: telemetry may load Powertools (and with it the botocore package), but no boto3 client
    stack and no X-Ray SDK; a user's grader importing Powertools gets the same classes."""
    code = (
        "import sys, reward.handler\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'aws_xray_sdk'))\n"
        "from aws_lambda_powertools import Logger\n"
        "print(loaded, Logger is reward.telemetry.Logger)\n"
    )
    env = {**os.environ, "REWARD_SPEC": str(GSM8K), "PYTHONPATH": str(ROOT / "lambda_src")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["[]", "True"]


def test_an_unknown_log_level_does_not_break_the_function():
    """A typo in LOG_LEVEL (the stack validates it; a local shell may not) logs at INFO and grades."""
    code = (
        "import reward.handler as h\n"
        "reply = h.lambda_handler([{'id': 'a', 'messages': [{'role': 'user', 'content': 'q'},"
        " {'role': 'assistant', 'content': '#### 1'}], 'metadata': {'reference_answer': {'final_answer': '1'}}}])\n"
        "import reward.telemetry as t\nprint(reply[0]['aggregate_reward_score'], t.logger.level)\n"
    )
    env = {
        **os.environ,
        "REWARD_SPEC": str(GSM8K),
        "PYTHONPATH": str(ROOT / "lambda_src"),
        "LOG_LEVEL": "verbose",
    }
    env.pop("POWERTOOLS_LOG_LEVEL", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["1.0", "20"]
    assert "unknown log level" in out.stderr
