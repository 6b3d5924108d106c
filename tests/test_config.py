"""The context keys: defaults, coercion of `-c` strings, and a clear error for every bad value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from app import cdk_json_context
from stacks.config import Config, ConfigError, load_config
from stacks.context_schema import CONTEXT_KEYS
from stacks.models import MAX_CONTEXT_TOKENS
from stacks.paths import PROJECT_ROOT
from tests.conftest import CODE

SAMPLE_TRAIN = PROJECT_ROOT / "data" / "sample" / "train.jsonl"


def config_of(**context: Any) -> Config:
    """Load the config as `cdk synth -c key=value ...` would (cdk.json first, overrides on top)."""
    return load_config(cdk.App(context={**cdk_json_context(), **context}).node)


def error_of(**context: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        config_of(**context)
    return str(caught.value)


def test_cdk_json_defaults_match_the_documented_keys() -> None:
    """cdk.json's context and CONTEXT_KEYS (the source of docs/context-keys.md) must not drift apart."""
    context = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]
    ours = {k: v for k, v in context.items() if not k.startswith("@")}
    assert ours == {k: spec.default for k, spec in CONTEXT_KEYS.items()}
    for key, spec in CONTEXT_KEYS.items():
        assert spec.help and spec.example, key


def test_each_key_is_declared_once_and_becomes_a_config_field() -> None:
    """One KeySpec per key (default, help, example, parser); `Config` holds every key but the
    hyperparameters (passed to the job by API name) and the acknowledgments; nothing else reads context."""
    from dataclasses import fields

    from stacks.context_schema import HP_KEYS

    config_fields = {f.name for f in fields(Config)}
    assert set(CONTEXT_KEYS) - config_fields == {*HP_KEYS, "acknowledge_warnings"}
    assert config_fields - set(CONTEXT_KEYS) == {
        "account",
        "hyperparameters",
        "warnings",
        "acknowledged_warnings",
    }
    for key, spec in CONTEXT_KEYS.items():
        assert callable(spec.parse), key
        assert spec.parse(spec.default) is not None or key in ("validation_data", "notification_email"), key
    config = config_of()
    assert config.hyperparameters == {api: CONTEXT_KEYS[key].default for key, api in HP_KEYS.items()}


def test_the_schema_imports_no_cdk() -> None:
    """`rft` parses cdk.json with the same table: the schema must load without aws_cdk."""
    import subprocess
    import sys

    code = (
        "import sys, stacks.context_schema, rft.project; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aws_cdk', 'constructs', 'jsii')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cdk_json_has_the_weak_cross_stack_reference_flag_and_the_app_command() -> None:
    """Weak references keep a later change from deadlocking on an export; the CLI runs app.py via the launcher."""
    cdk_json = json.loads((PROJECT_ROOT / "cdk.json").read_text())
    assert cdk_json["context"]["@aws-cdk/core:defaultCrossStackReferences"] == "weak"
    assert (
        cdk_json["app"] == "sh scripts/cdk-app"
    )  # the project's .venv, whatever the shell's PATH (test_cdk_app.py)


def test_defaults() -> None:
    """With no overrides the config is the documented default: a cheap, job-less deploy in us-east-1."""
    config = config_of()
    assert config.name_prefix == "nova-rft"
    assert config.region == "us-east-1"
    assert config.base_model_id == "amazon.nova-2-lite-v1:0:256k"
    assert config.training_data == SAMPLE_TRAIN
    assert config.validation_data == PROJECT_ROOT / "data" / "sample" / "validation.jsonl"
    assert config.reward_spec == PROJECT_ROOT / "reward_specs" / "gsm8k.toml"
    assert config.start_job is False
    assert config.retain_data is True
    assert config.removal_policy == cdk.RemovalPolicy.RETAIN
    assert config.architecture == "arm64"
    assert config.encryption == "s3-managed"
    assert config.notification_email is None
    assert config.reward_timeout_s >= 300
    assert config.hyperparameters == {
        "epochCount": 2,
        "batchSize": 64,
        "learningRate": 1e-5,
        "trainingSamplePerPrompt": 4,
        "maxPromptLength": 4096,
        "inferenceMaxTokens": 8192,
        "reasoningEffort": "high",
        "evalInterval": 10,
    }
    json.dumps(config.hyperparameters)  # passed on as the custom resource's JSON property


def test_command_line_strings_are_coerced_to_typed_values() -> None:
    """`-c` values always arrive as strings; they become ints, floats, bools, paths and None."""
    config = config_of(
        batch_size="128",
        learning_rate="2e-6",
        start_job="true",
        retain_data="false",
        validation_data="",
        notification_email="ml@example.com",
        reasoning_effort="LOW",
        training_data=str(SAMPLE_TRAIN),
    )
    assert config.hyperparameters["batchSize"] == 128
    assert config.hyperparameters["learningRate"] == 2e-6
    assert config.hyperparameters["reasoningEffort"] == "low"
    assert config.start_job is True
    assert config.retain_data is False
    assert config.removal_policy == cdk.RemovalPolicy.DESTROY
    assert config.validation_data is None
    assert config.notification_email == "ml@example.com"


#: One bad value per key (plus a few notable ones from the issue) and a fragment the message must contain.
BAD_VALUES: list[tuple[str, Any, str]] = [
    ("name_prefix", "Nova_RFT", "lowercase"),
    ("name_prefix", "a-very-long-prefix-over-20", "1..20"),
    ("region", "eu-west-1", "us-east-1"),
    ("base_model_id", "amazon.nova-pro-v1:0", "reinforcement fine-tuning"),
    ("training_data", "missing.jsonl", "no such file"),
    ("validation_data", "missing.jsonl", "no such file"),
    ("reward_spec", "missing.toml", "no such file"),
    ("start_job", "maybe", "true or false"),
    ("batch_inference", "sometimes", "true or false"),
    ("epoch_count", "0", "1..50"),
    ("epoch_count", "two", "1..50"),
    ("batch_size", "8", "16..512"),
    ("learning_rate", "0.1", "1e-07..0.001"),
    ("learning_rate", "nan", "1e-07..0.001"),
    ("samples_per_prompt", "1", "2..16"),
    ("max_prompt_length", "0", f"1..{MAX_CONTEXT_TOKENS}"),
    ("inference_max_tokens", str(MAX_CONTEXT_TOKENS + 1), f"1..{MAX_CONTEXT_TOKENS}"),
    ("reasoning_effort", "max", "low, medium, high"),
    ("eval_interval", "101", "1..100"),
    ("reward_memory_mb", "64", "128..10240"),
    ("reward_timeout_s", "901", "60..900"),
    ("code_runner_memory_mb", "100", "128..10240"),
    ("code_runner_memory_mb", "2g", "128..10240"),
    ("code_runner_timeout_s", "901", "5..900"),
    ("code_runner_reserved_concurrency", "0", "1..10000"),
    ("reward_reserved_concurrency", "-1", "0..10000"),
    ("judge_requests_per_minute", "lots", "0..100000000"),
    ("architecture", "arm", "arm64, x86_64"),
    ("encryption", "aes", "s3-managed, kms"),
    ("notification_email", "not-an-email", "email address"),
    ("retain_data", "keep", "true or false"),
    ("preflight_rows", "51", "0..50"),
    ("judge_model_id", "nova pro", "inference profile id"),
    ("judge_model_id", "arn:aws:s3:::bucket", "inference-profile ARN"),
    ("judge_profile_regions", "us-east-1;us-west-2", "region names separated by commas"),
    ("log_level", "verbose", "DEBUG, INFO, WARNING, ERROR"),
    ("acknowledge_warnings", "small-validation-set,nope", "unknown: nope"),
    ("alarm_non_ok_rate", "5", "0 < rate <= 1"),
    ("alarm_judge_throttle_rate", "0", "0 < rate <= 1"),
]


@pytest.mark.parametrize(("key", "value", "allowed"), BAD_VALUES, ids=lambda v: str(v)[:24])
def test_a_bad_value_names_the_key_the_value_what_is_allowed_and_an_example(
    key: str, value: Any, allowed: str
) -> None:
    """`cdk synth` must stop with a message that says exactly what to change."""
    message = error_of(**{key: value})
    assert f"'{key}'" in message
    assert repr(value) in message
    assert allowed in message
    assert f"-c {key}=" in message


def test_every_key_has_a_bad_value_test() -> None:
    """A new context key needs its own bad-value case above."""
    assert {key for key, _, _ in BAD_VALUES} == set(CONTEXT_KEYS)


def test_code_runner_keys_have_working_defaults_and_accept_command_line_strings() -> None:
    """The runner's keys exist for every spec (ignored without the code grader) and coerce like the rest."""
    assert (config_of().code_runner_memory_mb, config_of().code_runner_timeout_s) == (2048, 60)
    config = config_of(
        code_runner_memory_mb="4096", code_runner_timeout_s="120", code_runner_reserved_concurrency="7"
    )
    assert (config.code_runner_memory_mb, config.code_runner_timeout_s) == (4096, 120)
    assert config.code_runner_reserved_concurrency == 7


def test_a_runner_invocation_must_fit_inside_the_reward_invocation() -> None:
    """With a code spec, the reward Lambda waits for each runner call: the runner's timeout must be shorter."""
    spec, data = CODE["reward_spec"], CODE["training_data"]
    message = error_of(
        reward_spec=spec,
        training_data=data,
        code_runner_timeout_s="300",
        reward_timeout_s="300",
    )
    assert "'code_runner_timeout_s'" in message and "300" in message
    assert "less than reward_timeout_s (300)" in message and "-c code_runner_timeout_s=" in message
    config = config_of(reward_spec=spec, training_data=data, code_runner_timeout_s="299")
    assert config.code_runner_timeout_s == 299
    # without the code grader the runner is not deployed, and its timeout is not checked against the reward's
    assert config_of(code_runner_timeout_s="300", reward_timeout_s="300").code_runner_timeout_s == 300


def test_all_problems_are_reported_at_once() -> None:
    """Fixing one value at a time and re-running synth for the next is tedious."""
    with pytest.raises(ConfigError) as caught:
        config_of(batch_size="8", epoch_count="0")
    assert len(caught.value.problems) == 2


def test_the_prompt_and_the_answer_must_fit_the_context_window() -> None:
    """Each length is fine alone, but together they exceed the 256k-token window."""
    message = error_of(max_prompt_length="200000", inference_max_tokens="100000")
    assert "inference_max_tokens" in message and "200000 + 100000" in message


def test_typed_values_from_cdk_json_are_checked_too() -> None:
    """A JSON boolean is not an integer; an integral float is."""
    assert "'batch_size'" in error_of(batch_size=True)
    assert config_of(batch_size=32.0).hyperparameters["batchSize"] == 32


def test_reasoning_effort_medium_is_accepted_with_a_warning() -> None:
    """`medium` is in the API model but undocumented for RFT: allowed, but the user is told."""
    config = config_of(reasoning_effort="medium")
    assert config.hyperparameters["reasoningEffort"] == "medium"
    assert [(w.stack, w.key) for w in config.warnings] == [("training", "reasoning_effort")]


@pytest.mark.parametrize(
    ("typo", "key"),
    [
        ("epochs", "epoch_count"),
        ("batchSize", "batch_size"),
        ("batch-size", "batch_size"),
        ("retian_data", "retain_data"),
    ],
)
def test_a_misspelled_key_is_an_error_that_suggests_the_right_one(typo: str, key: str) -> None:
    """A silently ignored `-c epochs=3` would train with the default instead."""
    message = error_of(**{typo: "3"})
    assert f"Unknown context key {typo!r}: did you mean {key!r}?" in message


def test_unrelated_context_keys_are_left_alone() -> None:
    """Feature flags and other tools' keys are not ours to judge."""
    config_of(**{"@aws-cdk/core:someFlag": True, "aws:cdk:enable-path-metadata": True, "vpc_id": "x"})


def test_a_foundation_model_arn_is_accepted_in_the_right_region() -> None:
    """Users may paste the model's ARN instead of its id."""
    arn = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-2-lite-v1:0:256k"
    assert config_of(base_model_id=arn).base_model_id == arn
    assert "'base_model_id'" in error_of(base_model_id=arn.replace("us-east-1", "us-west-2"))


def test_an_invalid_spec_fails_synth_naming_the_key(tmp_path: Path) -> None:
    """The spec is validated with the Lambda's own loader before anything is built."""
    spec = tmp_path / "bad.toml"
    spec.write_text('name = "bad"\n[[dimensions]]\nname = "x"\ngrader = "no_such_grader"\nweight = 1\n')
    message = error_of(reward_spec=str(spec))
    assert "'reward_spec'" in message and "bad.toml" in message


def test_a_custom_grader_module_must_be_bundled(tmp_path: Path) -> None:
    """A spec that imports a module the Lambda will not have would fail at run time, not at synth."""
    spec = tmp_path / "custom.toml"
    spec.write_text(
        'name = "custom"\n[[dimensions]]\nname = "x"\ngrader = "custom"\nweight = 1\n'
        '[dimensions.params]\nfunction = "no_such_module:score"\n'
    )
    message = error_of(reward_spec=str(spec))
    assert "'reward_spec'" in message and "no_such_module" in message


def test_an_invalid_dataset_fails_synth_listing_each_problem_with_its_line(tmp_path: Path) -> None:
    """Every problem is listed with its line number, so the user fixes them in one go."""
    rows = SAMPLE_TRAIN.read_text().splitlines()
    rows[2] = "{not json"
    rows[4] = json.dumps({"messages": []})
    bad = tmp_path / "train.jsonl"
    bad.write_text("\n".join(rows) + "\n")
    message = error_of(training_data=str(bad))
    assert "'training_data'" in message
    assert "train.jsonl:3:" in message and "train.jsonl:5:" in message


def test_dataset_warnings_do_not_fail_synth(tmp_path: Path) -> None:
    """Warnings (e.g. a missing reference answer) are shown, not fatal."""
    rows = [json.loads(line) for line in SAMPLE_TRAIN.read_text().splitlines()]
    del rows[0]["reference_answer"]
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = config_of(training_data=str(path))
    assert any(
        w.stack == "data" and w.key == "training_data" and "train.jsonl:1" in w.message
        for w in config.warnings
    )


def test_a_too_small_training_set_is_an_error(tmp_path: Path) -> None:
    """RFT needs at least 100 training records."""
    path = tmp_path / "tiny.jsonl"
    path.write_text("".join(SAMPLE_TRAIN.read_text().splitlines(keepends=True)[:10]))
    assert "'training_data'" in error_of(training_data=str(path))


def test_the_docs_document_every_context_key_with_its_default() -> None:
    """docs/context-keys.md is what users read: a new key or a changed default must show in its table."""
    page = (PROJECT_ROOT / "docs" / "context-keys.md").read_text()
    for key, spec in CONTEXT_KEYS.items():
        assert f"| `{key}` | `{json.dumps(spec.default)}` |" in page, key


SUPPORT = {
    "reward_spec": "reward_specs/support_rubric.toml",
    "training_data": "data/support/train.jsonl",
    "validation_data": "data/support/validation.jsonl",
}


def test_the_judge_fan_out_warning_shows_its_arithmetic_and_can_be_acknowledged() -> None:
    """Reserved concurrency x judge calls per sample x 1 sample/s x 60 over the quota is one warning line."""
    config = config_of(**SUPPORT, reward_reserved_concurrency="100", judge_requests_per_minute="2000")
    (warning,) = [w for w in config.warnings if w.id == "judge-quota"]
    assert "reward_reserved_concurrency=100 x 2 judge call(s) per sample" in warning.line()
    assert "= 12,000 requests/min > judge_requests_per_minute=2,000" in warning.line()
    assert "-c reward_reserved_concurrency=16" in warning.line()  # 16 x 2 x 60 = 1,920 <= 2,000
    assert warning.line().endswith("silence: -c acknowledge_warnings=judge-quota]")
    quiet = config_of(
        **SUPPORT,
        reward_reserved_concurrency="100",
        judge_requests_per_minute="2000",
        acknowledge_warnings="judge-quota",
    )
    assert not [w for w in quiet.warnings if w.id == "judge-quota"]


@pytest.mark.parametrize(
    ("reserved", "quota"),
    [("16", "2000"), ("100", "0"), ("0", "2000")],
    ids=["fits", "unknown", "unreserved"],
)
def test_no_fan_out_warning_when_the_demand_fits_or_is_unknown(reserved: str, quota: str) -> None:
    """16 x 2 x 60 = 1,920 fits 2,000; quota 0 (unknown) or no reservation: nothing to compare."""
    config = config_of(**SUPPORT, reward_reserved_concurrency=reserved, judge_requests_per_minute=quota)
    assert config.reward_reserved_concurrency == int(reserved)
    assert not [w for w in config.warnings if w.id == "judge-quota"]


def test_no_fan_out_warning_for_a_spec_without_a_judge() -> None:
    """gsm8k makes no judge call: no quota to exceed."""
    config = config_of(reward_reserved_concurrency="1000", judge_requests_per_minute="1")
    assert not [w for w in config.warnings if w.id == "judge-quota"]


def test_every_keys_example_passes_its_own_check() -> None:
    """An error's example must be a value the key accepts (it is what the user will copy)."""

    for key, spec in CONTEXT_KEYS.items():
        if spec.example in (None, ""):
            continue
        try:
            load_config(cdk.App(context={**cdk_json_context(), key: str(spec.example)}).node)
        except ConfigError as error:
            # a path example names the user's own file, which does not exist here: its shape is the point
            own = [p for p in error.problems if f"for {key!r}" in p and "no such file" not in p]
            assert not own, own


def test_a_rejected_value_gets_a_valid_example_and_the_json_default() -> None:
    context = {**cdk_json_context(), "start_job": "maybe"}
    with pytest.raises(ConfigError) as caught:
        load_config(cdk.App(context=context).node)
    assert "(default in cdk.json: false)" in caught.value.problems[0]
    code = str(PROJECT_ROOT / "reward_specs" / "code.toml")
    data = {
        k: str(PROJECT_ROOT / "data" / "code" / f"{n}.jsonl")
        for k, n in (("training_data", "train"), ("validation_data", "validation"))
    }
    context = {
        **cdk_json_context(),
        **data,
        "reward_spec": code,
        "reward_timeout_s": "120",
        "code_runner_timeout_s": "120",
    }
    with pytest.raises(ConfigError) as caught:
        load_config(cdk.App(context=context).node)
    (problem,) = [p for p in caught.value.problems if "code_runner_timeout_s" in p]
    example = int(problem.split("-c code_runner_timeout_s=")[1].split()[0])
    assert example < 120, problem


def test_a_spec_error_separates_the_file_from_the_key(tmp_path) -> None:
    from reward.spec import SpecError, load_spec

    path = tmp_path / "badonerror.toml"
    path.write_text(
        'on_error = "explode"\n[[dimensions]]\nname = "a"\ngrader = "length"\n[dimensions.params]\ntarget = 5\nmax = 10\n'
    )
    with pytest.raises(SpecError, match=r"badonerror\.toml: on_error: must be one of"):
        load_spec(path)
