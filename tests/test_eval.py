"""`rft eval` against the policy-model emulator: the base id and a deployment ARN answer the same prompts
with different known probabilities; the reported delta must match what they imply (within 3 standard
errors, fixed seeds), and the paired bootstrap interval must gate promotion."""

from __future__ import annotations

import json

import pytest

from rft.comparison import compare
from rft.measure import PromptStats
from rft.stats import paired_bootstrap
from tests.bedrock_emulator import Script, bedrock_emulator
from tests.policy_runs import BASE_ID, DEPLOYMENT_ARN, GSM8K, implied, run_cli, write_task

K = 4
N = 120
BASE_P = [(0.1, 0.3, 0.5, 0.7)[i % 4] for i in range(N)]
TUNED_P = [min(1.0, p + 0.25) for p in BASE_P]


def eval_args(data, out, *extra):
    return [
        "eval",
        "--data",
        str(data),
        "--spec",
        GSM8K,
        "--base",
        BASE_ID,
        "--tuned",
        DEPLOYMENT_ARN,
        "--samples",
        str(K),
        "--out",
        str(out),
        "--yes",
        *extra,
    ]


@pytest.fixture(scope="module")
def better(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("eval")
    task = write_task(tmp, N)
    script = Script(
        throttle_fraction=0.1,
        policies={BASE_ID: task.policy(BASE_P, seed=1), DEPLOYMENT_ARN: task.policy(TUNED_P, seed=2)},
    )
    with bedrock_emulator(script) as emu:
        result = run_cli([*eval_args(task.path, tmp / "out"), "--json", "--fail-if-not-better"])
        models = {r.model_id for r in emu.requests}
        again = len(emu.requests)
        rerun = run_cli([*eval_args(task.path, tmp / "out"), "--json"])
        again = len(emu.requests) - again
    return {"result": result, "models": models, "rerun_calls": again, "rerun": rerun, "out": tmp / "out"}


def test_the_json_report_has_the_keys_the_issue_names(better):
    code, out, err = better["result"]
    assert code == 0, err
    report = json.loads(out)
    assert {"base", "tuned", "delta", "delta_ci95", "prompts"} <= set(report)
    assert isinstance(report["base"]["mean_reward"], float) and isinstance(
        report["tuned"]["mean_reward"], float
    )
    low, high = report["delta_ci95"]
    assert low <= report["delta"] <= high
    assert report["prompts"] == N


def test_both_models_are_called_by_their_own_ids(better):
    assert better["models"] == {BASE_ID, DEPLOYMENT_ARN}


def test_each_model_reports_what_its_probabilities_imply(better):
    report = json.loads(better["result"][1])
    for name, probabilities in (("base", BASE_P), ("tuned", TUNED_P)):
        expected = implied(probabilities, K)
        got = report[name]["mean_reward"]
        assert abs(got - expected["mean_reward"]) <= 3 * expected["mean_reward_se"], (name, got, expected)


def test_the_delta_matches_the_probabilities_and_the_interval_is_above_zero(better):
    report = json.loads(better["result"][1])
    expected = sum(2 * (t - b) for b, t in zip(BASE_P, TUNED_P)) / N
    se = (implied(BASE_P, K)["mean_reward_se"] ** 2 + implied(TUNED_P, K)["mean_reward_se"] ** 2) ** 0.5
    assert abs(report["delta"] - expected) <= 3 * se, (report["delta"], expected, se)
    assert report["delta_ci95"][0] > 0 and report["better"] is True
    assert report["wins"] > report["losses"]
    assert report["wins"] + report["ties"] + report["losses"] == N
    assert set(report["per_dimension_delta"]) == {"correctness", "format", "conciseness"}


def test_a_rerun_makes_zero_calls(better):
    code, out, _ = better["rerun"]
    assert code == 0 and better["rerun_calls"] == 0
    assert json.loads(out)["delta"] == json.loads(better["result"][1])["delta"]


def test_files_are_written(better):
    out = better["out"]
    assert (out / "eval.png").read_bytes()[:4] == b"\x89PNG"
    lines = (out / "eval.jsonl").read_text().splitlines()
    assert len(lines) == 2 * N * K
    assert {json.loads(line)["model"] for line in lines} == {BASE_ID, DEPLOYMENT_ARN}


def test_no_better_model_fails_the_gate(tmp_path):
    task = write_task(tmp_path, 60)
    same = [(0.2, 0.5, 0.8)[i % 3] for i in range(60)]
    # The same policy with the same seed: the "tuned" model answers exactly like the base model.
    script = Script(policies={BASE_ID: task.policy(same, seed=5), DEPLOYMENT_ARN: task.policy(same, seed=5)})
    with bedrock_emulator(script):
        code, out, err = run_cli([*eval_args(task.path, tmp_path / "out"), "--json", "--fail-if-not-better"])
    report = json.loads(out)
    assert report["delta"] == 0 and report["delta_ci95"] == [0.0, 0.0]
    assert code == 1 and "lower bound" in err
    with bedrock_emulator(script) as emu:  # without the flag the same comparison exits 0 (and is cached)
        code, _, _ = run_cli(eval_args(task.path, tmp_path / "out"))
        assert code == 0 and emu.requests == []


def test_eval_reuses_the_baseline_cache_for_the_base_model(tmp_path):
    task = write_task(tmp_path, 10)
    script = Script(
        policies={BASE_ID: task.policy([0.5] * 10), DEPLOYMENT_ARN: task.policy([0.9] * 10, seed=1)}
    )
    with bedrock_emulator(script) as emu:
        args = ["--data", str(task.path), "--spec", GSM8K, "--samples", str(K), "--out", str(tmp_path / "o")]
        assert run_cli(["baseline", *args, "--model", BASE_ID, "--yes"])[0] == 0
        before = len(emu.requests)
        code, out, err = run_cli(
            ["eval", *args, "--base", BASE_ID, "--tuned", DEPLOYMENT_ARN, "--yes", "--json"]
        )
        assert code == 0, err
        assert {r.model_id for r in emu.requests[before:]} == {DEPLOYMENT_ARN}
        assert json.loads(out)["base"]["calls"]["made"] == 0


def test_paired_bootstrap_of_a_constant_difference_is_that_constant():
    low, high = paired_bootstrap([0.25] * 50)
    assert low == pytest.approx(0.25) and high == pytest.approx(0.25)


def test_paired_bootstrap_interval_covers_the_mean_and_shrinks_with_more_prompts():
    small = [(-1.0, 0.0, 1.0, 2.0)[i % 4] for i in range(20)]
    large = small * 20
    low_s, high_s = paired_bootstrap(small)
    low_l, high_l = paired_bootstrap(large)
    assert low_s < 0.5 < high_s and low_l < 0.5 < high_l
    assert (high_l - low_l) < (high_s - low_s) / 3


def test_compare_pairs_prompts_and_counts_wins_ties_losses():
    base = [PromptStats(0, (0.0, 1.0), (False, True)), PromptStats(1, (1.0, 1.0), (True, True))]
    tuned = [PromptStats(0, (1.0, 1.0), (True, True)), PromptStats(1, (1.0, 1.0), (True, True))]
    result = compare(base, tuned)
    assert (result["wins"], result["ties"], result["losses"]) == (1, 1, 0)
    assert result["delta"] == pytest.approx(0.25)


def test_a_worse_model_fails_the_gate(tmp_path):
    task = write_task(tmp_path, 60)
    base = [(0.5, 0.7, 0.9)[i % 3] for i in range(60)]
    script = Script(
        policies={
            BASE_ID: task.policy(base, seed=1),
            DEPLOYMENT_ARN: task.policy([p - 0.4 for p in base], seed=2),
        }
    )
    with bedrock_emulator(script):
        code, out, _ = run_cli([*eval_args(task.path, tmp_path / "out"), "--json", "--fail-if-not-better"])
    report = json.loads(out)
    assert code == 1 and report["delta_ci95"][1] < 0 and report["losses"] > report["wins"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--base", BASE_ID], "--tuned"),
        (["--base", BASE_ID, "--tuned", BASE_ID], "same model"),
        (["--tuned", DEPLOYMENT_ARN, "--limit", "0"], "--limit"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(tmp_path, argv, message):
    task = write_task(tmp_path, 2)
    code, _, err = run_cli(["eval", "--data", str(task.path), "--spec", GSM8K, "--yes", *argv])
    assert code == 2 and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_stack_names_the_tuned_model_through_rft_models(tmp_path, monkeypatch):
    """`--stack NAME` asks rft.models (deploy-model's module) for the Active deployment's ARN."""
    from rft import models

    seen = {}

    def tuned_model_from_stack(ctx, prefix, region):
        seen["args"] = (prefix, region)
        return DEPLOYMENT_ARN

    monkeypatch.setattr(models, "tuned_model_from_stack", tuned_model_from_stack)
    task = write_task(tmp_path, 4)
    script = Script(policies={BASE_ID: task.policy([0.5] * 4), DEPLOYMENT_ARN: task.policy([0.9] * 4)})
    with bedrock_emulator(script) as emu:
        args = ["eval", "--data", str(task.path), "--spec", GSM8K, "--base", BASE_ID, "--stack", "nova-rft"]
        code, out, err = run_cli([*args, "--samples", "2", "--yes", "--json", "--out", str(tmp_path / "o")])
        assert code == 0, err
        assert DEPLOYMENT_ARN in {r.model_id for r in emu.requests}
    assert seen["args"] == ("nova-rft", "us-east-1")
    assert json.loads(out)["tuned"]["model"] == DEPLOYMENT_ARN
