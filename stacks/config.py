"""The app's configuration: `load_config(app.node)` is the only code that reads CDK context.

Each key is declared once in `stacks/context_schema.py` (default, help, example, parser); defaults are the
typed JSON values of `cdk.json` (mirrored in `CONTEXT_KEYS`, so an `App()` built in a test behaves like `cdk
synth`), and `-c key=value` always arrives as a string that the key's parser coerces. A bad value raises
`ConfigError`, whose message names the key, the value, what is allowed and an example `-c` flag, so `cdk
synth` stops before anything is built. The checks across keys live here: the region of the base model, the
token budget, the spec (loaded with the Lambda's own loader) and the judge or code runner it needs, and the
datasets (validated with the very code the Lambda and `rft validate-data` run, `reward.dataset`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import constructs

from stacks.context_schema import (
    CONTEXT_KEYS,
    HP_KEYS,
    JUDGE_QUOTA_WARNING,
    REASONING_EFFORT_WARNING,
    Invalid,
    problem,
    unknown_key_problems,
)
from stacks.judge_model import JudgeModelError, resolve_judge_model
from stacks.models import MAX_CONTEXT_TOKENS, RFT_MODELS
from stacks.paths import LAMBDA_SRC, PROJECT_ROOT
from stacks.reward_bundle import reward_code_paths

if TYPE_CHECKING:
    from reward.spec import Spec

#: Planning figure for the judge fan-out warning: samples one reward invocation grades per second when the
#: judge is not throttled (an assumption: RFT's batch sizes are not documented, and a Converse verdict takes
#: about a second or more; docs/judge.md, "Capacity").
SAMPLES_PER_S_PER_INVOCATION = 1.0

__all__ = ["CONTEXT_KEYS", "PROJECT_ROOT", "Config", "ConfigError", "ConfigWarning", "load_config"]


class ConfigError(ValueError):
    """One or more context values are invalid; the message lists each with how to fix it."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n\n".join(self.problems))


@dataclass(frozen=True)
class ConfigWarning:
    """A value that is allowed but worth a second look; `cdk synth` prints it as one line (app.py).

    `id` names the kind of warning (a dataset rule's code, e.g. `small-validation-set`); listing it in the
    context key `acknowledge_warnings` silences every warning of that kind.
    """

    stack: str  # "data" | "reward" | "training"
    key: str
    message: str
    id: str = ""

    def line(self) -> str:
        """The warning as `cdk synth` prints it: one line, with how to silence it."""
        return f"Warning: {self.message} [{self.key}; silence: -c acknowledge_warnings={self.id}]"


@dataclass(frozen=True)
class Config:
    """The validated configuration of one synth. Built only by `load_config`."""

    name_prefix: str
    region: str
    account: str | None
    base_model_id: str
    training_data: Path
    validation_data: Path | None
    reward_spec: Path
    judge_model_id: str
    judge_profile_regions: tuple[str, ...]  # empty: the built-in table decides
    start_job: bool
    batch_inference: bool
    hyperparameters: Mapping[str, int | float | str]  # API names; pass as-is to rftConfig.hyperParameters
    reward_memory_mb: int
    reward_timeout_s: int
    code_runner_memory_mb: int
    code_runner_timeout_s: int
    code_runner_reserved_concurrency: int
    reward_reserved_concurrency: int  # 0: no reservation
    judge_requests_per_minute: int  # 0: unknown
    architecture: str
    encryption: str
    notification_email: str | None
    retain_data: bool
    preflight_rows: int
    log_level: str
    alarm_non_ok_rate: float
    alarm_judge_throttle_rate: float
    warnings: tuple[ConfigWarning, ...] = field(default=(), compare=False)
    #: Warning ids listed in `acknowledge_warnings`: those warnings are left out of `warnings`.
    acknowledged_warnings: tuple[str, ...] = ()

    @property
    def removal_policy(self) -> cdk.RemovalPolicy:
        """RETAIN for data-bearing resources unless `retain_data=false`."""
        return cdk.RemovalPolicy.RETAIN if self.retain_data else cdk.RemovalPolicy.DESTROY

    @property
    def env(self) -> cdk.Environment:
        """The stacks' environment: the configured region, and the CLI's account when known."""
        return cdk.Environment(account=self.account, region=self.region)

    @property
    def kms(self) -> bool:
        """True when a customer-managed KMS key encrypts the data."""
        return self.encryption == "kms"


def load_config(node: constructs.Node) -> Config:
    """Read and validate every context key; raise `ConfigError` listing every bad value.

    Missing keys take the defaults of `CONTEXT_KEYS` (identical to cdk.json's "context").
    """
    context = node.get_all_context()
    problems = unknown_key_problems(context)
    warnings: list[ConfigWarning] = []
    values: dict[str, Any] = {}

    for key, declared in CONTEXT_KEYS.items():
        given = node.try_get_context(key)
        raw = declared.default if given is None else given
        try:
            values[key] = declared.parse(raw)
        except Invalid as invalid:
            problems.append(problem(key, raw, invalid.allowed))
    hyperparameters = {api: values[key] for key, api in HP_KEYS.items() if key in values}

    _check_region(values, problems)
    _check_token_budget(hyperparameters, problems)
    if hyperparameters.get("reasoningEffort") == "medium":
        warnings.append(
            ConfigWarning(
                "training",
                "reasoning_effort",
                "reasoning_effort=medium is in the Bedrock API model but AWS documents only low and high "
                "for RFT (SageMaker's Nova RFT docs say medium is not supported); the job may be rejected "
                "at CreateModelCustomizationJob. Prefer -c reasoning_effort=high or low.",
                REASONING_EFFORT_WARNING,
            )
        )
    spec = None
    if "reward_spec" in values:
        spec = _check_spec(values["reward_spec"], problems)
        if spec is not None and spec.uses_judge:
            _check_judge(values, problems)
            _check_judge_fan_out(values, spec, warnings)
        if spec is not None and spec.uses_code:
            _check_code_runner(values, problems)
    for key, role in (("training_data", "training"), ("validation_data", "validation")):
        if values.get(key) is not None:
            _check_dataset(key, values[key], role, problems, warnings)
    if spec is not None and spec.control_template and values.get("training_data") is not None:
        _check_control_template(spec, values["training_data"], problems)

    if problems:
        raise ConfigError(problems)
    keys = [f.name for f in fields(Config) if f.name in CONTEXT_KEYS]
    return Config(
        **{key: values[key] for key in keys},
        account=os.environ.get("CDK_DEFAULT_ACCOUNT") or None,
        hyperparameters=hyperparameters,
        warnings=tuple(w for w in warnings if w.id not in values["acknowledge_warnings"]),
        acknowledged_warnings=values["acknowledge_warnings"],
    )


def _check_region(values: dict[str, Any], problems: list[str]) -> None:
    region = values.get("region")
    model = values.get("base_model_id")
    if region is None or model is None:
        return
    model = model.rsplit("/", 1)[-1]
    regions = RFT_MODELS[model]
    if region not in regions:
        problems.append(
            problem(
                "region",
                region,
                f"{', '.join(regions)} — {model} supports reinforcement fine-tuning only there, and the "
                "dataset buckets, the reward Lambda and the job must be in the job's region",
            )
        )
    elif model != values["base_model_id"] and f":bedrock:{region}:" not in values["base_model_id"]:
        problems.append(
            problem("base_model_id", values["base_model_id"], f"a foundation-model ARN in region {region}")
        )


def _check_judge(values: dict[str, Any], problems: list[str]) -> None:
    """The spec uses the judge: the reward Lambda's role must be grantable exactly that model. (Without a
    judge the judge model is ignored: nothing is granted.)"""
    if not {"judge_model_id", "judge_profile_regions", "region"} <= values.keys():
        return
    try:
        resolve_judge_model(
            values["judge_model_id"],
            region=values["region"],
            profile_regions=values["judge_profile_regions"],
        )
    except JudgeModelError as error:
        key = "judge_profile_regions" if "judge_profile_regions" in str(error) else "judge_model_id"
        problems.append(
            f"Invalid context value for {key!r} (the reward spec {values['reward_spec'].name} uses the "
            f"LLM judge):\n  {error}"
        )


def _check_judge_fan_out(values: dict[str, Any], spec: Any, warnings: list[ConfigWarning]) -> None:
    """Warn when the reward Lambda's reserved concurrency could ask the judge for more calls per minute
    than the quota the user gave: reserved x judge calls per sample x SAMPLES_PER_S_PER_INVOCATION x 60."""
    quota = values.get("judge_requests_per_minute") or 0
    reserved = values.get("reward_reserved_concurrency") or 0
    calls = sum(1 for grader in spec.graders if grader.name == "judge")
    if not quota or not reserved or not calls:
        return
    demand = reserved * calls * SAMPLES_PER_S_PER_INVOCATION * 60
    if demand <= quota:
        return
    fits = max(1, int(quota // (calls * SAMPLES_PER_S_PER_INVOCATION * 60)))
    warnings.append(
        ConfigWarning(
            "reward",
            "reward_reserved_concurrency",
            f"the judge may be asked for more than its quota: reward_reserved_concurrency={reserved} x "
            f"{calls} judge call(s) per sample x {SAMPLES_PER_S_PER_INVOCATION:g} sample/s per invocation "
            f"x 60 = {demand:,.0f} requests/min > judge_requests_per_minute={quota:,}. The judge paces "
            "itself to the quota, but samples it cannot reach in time get status deadline: request a "
            f"higher quota, or -c reward_reserved_concurrency={fits} (docs/judge.md, Capacity).",
            JUDGE_QUOTA_WARNING,
        )
    )


def _check_code_runner(values: dict[str, Any], problems: list[str]) -> None:
    """The spec runs code: one runner invocation must fit inside the reward invocation that waits for it
    (a longer one would be cut off by the reward Lambda's own timeout, never by the runner's)."""
    runner, reward = values.get("code_runner_timeout_s"), values.get("reward_timeout_s")
    if isinstance(runner, int) and isinstance(reward, int) and runner >= reward:
        problems.append(
            problem(
                "code_runner_timeout_s",
                runner,
                f"less than reward_timeout_s ({reward}): the reward Lambda waits for each runner invocation "
                f"(the spec {values['reward_spec'].name} uses the code grader)",
                example=max(
                    5, min(int(CONTEXT_KEYS["code_runner_timeout_s"].example), reward - 30, reward - 1)
                ),
            )
        )


def _check_token_budget(hyperparameters: Mapping[str, Any], problems: list[str]) -> None:
    prompt, completion = hyperparameters.get("maxPromptLength"), hyperparameters.get("inferenceMaxTokens")
    if isinstance(prompt, int) and isinstance(completion, int) and prompt + completion > MAX_CONTEXT_TOKENS:
        problems.append(
            problem(
                "inference_max_tokens",
                completion,
                f"max_prompt_length + inference_max_tokens <= {MAX_CONTEXT_TOKENS} (the 256k context window); "
                f"now {prompt} + {completion} = {prompt + completion}",
            )
        )


def _check_spec(path: Path, problems: list[str]) -> Spec | None:
    """The loaded spec, or None (with the problem added) when it does not load."""
    from reward.spec import SpecError, load_spec  # the reward library; imported late (it is heavier)

    try:
        spec = load_spec(path)
    except SpecError as error:
        problems.append(
            f"Invalid reward spec for 'reward_spec' ({path}):\n  {error}\n"
            f"  fix the spec, or pick another one: npx cdk synth -c reward_spec="
            f"{CONTEXT_KEYS['reward_spec'].example}"
        )
        return None
    bundled = {p.stem if p.is_file() else p.name for p in reward_code_paths()}
    for module in sorted(spec.python_modules):
        top = module.split(".", 1)[0]
        if top not in bundled:
            problems.append(
                f"Invalid reward spec for 'reward_spec' ({path}): a custom grader imports module {module!r}, "
                f"which is not bundled with the reward Lambda.\n"
                f"  put {top}.py (or the package {top}/) in {LAMBDA_SRC} next to reward/; bundled now: "
                f"{', '.join(sorted(bundled))}"
            )
    return spec


def _check_control_template(spec: Spec, data: Path, problems: list[str]) -> None:
    """The spec's control_template names fields the training data's reference answers have (the job
    starter's preflight writes the reference answers with it: a typo would fail the deployment later)."""
    from reward.controls import check_gradable, check_template
    from reward.dataset import iter_rows

    if not data.is_file():
        return  # the dataset check reports it
    numbered = list(iter_rows(data))
    rows = [r for _, r in numbered]
    problem = check_template(spec.control_template, (r.get("reference_answer") for r in rows))
    if not problem:  # the spec must be able to grade the reference answers (rft validate-data --spec)
        problem = check_gradable(spec, rows).problem(lambda i: f"line {numbered[i][0]}")
    if problem:
        problems.append(
            f"Invalid reward spec for 'reward_spec' ({spec.path}) with 'training_data' ({data}): {problem}\n"
            f"  fix control_template in the spec, or pick a spec for this data: npx cdk synth -c "
            f"reward_spec={CONTEXT_KEYS['reward_spec'].example}"
        )


def _check_dataset(
    key: str, path: Path, role: str, problems: list[str], warnings: list[ConfigWarning]
) -> None:
    from reward.dataset import format_findings, validate_dataset_file

    # The same call `rft validate-data --role <role>` makes: both give the same verdict on every file.
    report = validate_dataset_file(path, role=role)
    if report.errors:
        problems.append(
            f"Invalid dataset for {key!r} ({path}): {len(report.errors)} error(s)\n"
            + format_findings(report, path)
            + f"\n  fix the file, or pick another: npx cdk synth -c {key}={CONTEXT_KEYS[key].example}"
        )
    # One line per kind of warning and file: a file with 40 duplicate prompts is one line naming the first
    # lines, not 40 (`rft validate-data FILE` lists them all).
    by_code: dict[str, list[Any]] = {}
    for finding in report.warnings:
        by_code.setdefault(finding.code, []).append(finding)
    for code, findings in by_code.items():
        first = findings[0]
        count = len(findings) + report.suppressed.get(code, 0)
        if count == 1:
            where = f"{path.name}:{first.line}" if first.line else path.name
            text = f"{where}: {first.message}"
        else:
            lines = ", ".join(str(f.line) for f in findings[:5]) + (", …" if count > 5 else "")
            text = f"{path.name}: {count} records (lines {lines}): {first.message}, …"
        warnings.append(ConfigWarning("data", key, f"{text} — {first.hint}", code))
