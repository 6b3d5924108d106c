"""The app's configuration: every CDK context key, its default, and its validation — in one place.

`load_config(app.node)` is the only code that reads CDK context. Defaults are typed JSON values in
`cdk.json` (and mirrored in `CONTEXT_KEYS`, so an `App()` built in a test behaves like `cdk synth`);
`-c key=value` on the command line always arrives as a string and is coerced here. A bad value raises
`ConfigError`, whose message names the key, the value, what is allowed and an example `-c` flag, so
`cdk synth` stops before anything is built.

Ranges and enums of the RFT hyperparameters come from botocore's Bedrock service model (through
`job_starter.request_model`), so they cannot drift from the API. Datasets and the reward spec are
validated with the very code the Lambda runs (`reward.dataset`, `reward.spec`).
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import constructs

from job_starter.request_model import Constraint, hyperparameter_constraints
from reward import dataset as _dataset
from reward.graders.judge import DEFAULT_MODEL_ID as JUDGE_DEFAULT_MODEL_ID
from stacks.constructs.judge_access import (
    JUDGE_MODEL_FORMS,
    JudgeModelError,
    is_judge_model_id,
    resolve_judge_model,
)
from stacks.constructs.reward_function import LAMBDA_SRC, reward_code_paths

if TYPE_CHECKING:
    from reward.spec import Spec

#: The project root (holds cdk.json); relative paths in context are resolved against it.
PROJECT_ROOT = Path(__file__).resolve().parents[1]

#: Base models that support reinforcement fine-tuning on Bedrock -> regions where they do.
#: AWS's RFT docs list only Nova 2 Lite, in us-east-1, at the time of writing (docs/contract.md §3).
RFT_MODELS: dict[str, tuple[str, ...]] = {"amazon.nova-2-lite-v1:0:256k": ("us-east-1",)}

#: The judge model when `judge_model_id` is not set: Amazon Nova Pro through the US cross-region inference
#: profile (routes to us-east-1, us-east-2 and us-west-2). Defined by the judge grader (its fallback when
#: JUDGE_MODEL_ID is unset), so the two cannot drift; that module imports no boto3 at import time.
DEFAULT_JUDGE_MODEL_ID: str = JUDGE_DEFAULT_MODEL_ID

#: The context window of the 256k model: prompt plus generated tokens must fit in it.
MAX_CONTEXT_TOKENS = 262_144

#: Dataset size limits for RFT (docs/contract.md §2). The 100-row minimum is documented for training data.
# The dataset rules live in reward.dataset (shared with `rft validate-data`), so the two cannot disagree.
TRAINING_MIN_ROWS = _dataset.TRAINING_MIN_ROWS
VALIDATION_RECOMMENDED_ROWS = _dataset.VALIDATION_RECOMMENDED_ROWS
MAX_ROWS = _dataset.DEFAULT_MAX_ROWS


class ConfigError(ValueError):
    """One or more context values are invalid; the message lists each with how to fix it."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n\n".join(self.problems))


@dataclass(frozen=True)
class KeySpec:
    """One context key: its default (as written in cdk.json), what it means, and an example value."""

    default: Any
    help: str
    example: str


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


#: The ids a config warning can have (acknowledge_warnings accepts these): the dataset rules' warnings and
#: the hyperparameter checks below.
REASONING_EFFORT_WARNING = "reasoning-effort-medium"
JUDGE_QUOTA_WARNING = "judge-quota"
#: Planning figure for the judge fan-out warning: samples one reward invocation grades per second when the
#: judge is not throttled (an assumption: RFT's batch sizes are not documented, and a Converse verdict takes
#: about a second or more; docs/judge.md, "Capacity").
SAMPLES_PER_S_PER_INVOCATION = 1.0


def warning_ids() -> tuple[str, ...]:
    from reward.dataset import RULES, WARNING

    return (
        *sorted(code for code, rule in RULES.items() if rule.severity == WARNING),
        REASONING_EFFORT_WARNING,
        JUDGE_QUOTA_WARNING,
    )


_HP_KEYS: dict[str, str] = {
    "epoch_count": "epochCount",
    "batch_size": "batchSize",
    "learning_rate": "learningRate",
    "samples_per_prompt": "trainingSamplePerPrompt",
    "max_prompt_length": "maxPromptLength",
    "inference_max_tokens": "inferenceMaxTokens",
    "reasoning_effort": "reasoningEffort",
    "eval_interval": "evalInterval",
}

#: Every context key, in the order docs/context-keys.md documents them.
CONTEXT_KEYS: dict[str, KeySpec] = {
    "name_prefix": KeySpec(
        "nova-rft",
        "Prefix of stack names (`<prefix>-data`, `-reward`, `-training`), the job and the custom model. "
        "Lowercase letters, digits and hyphens, starting with a letter, at most 20 characters.",
        "my-rft",
    ),
    "region": KeySpec(
        "us-east-1",
        "AWS region of all three stacks. Must be a region where the base model supports RFT "
        "(Nova 2 Lite: us-east-1 only); the data, the reward Lambda and the job must share it.",
        "us-east-1",
    ),
    "base_model_id": KeySpec(
        "amazon.nova-2-lite-v1:0:256k",
        "The model to fine-tune (model id or its foundation-model ARN). Only models with Bedrock RFT.",
        "amazon.nova-2-lite-v1:0:256k",
    ),
    "training_data": KeySpec(
        "data/sample/train.jsonl",
        "Training dataset (JSONL, Nova RFT format), relative to the project root or absolute. Validated "
        f"at synth time ({TRAINING_MIN_ROWS}..{MAX_ROWS} rows); uploaded under a content-addressed key.",
        "data/my_train.jsonl",
    ),
    "validation_data": KeySpec(
        "data/sample/validation.jsonl",
        "Optional validation dataset (same format; at least 1 row, fewer than "
        f"{VALIDATION_RECOMMENDED_ROWS} is a warning). Empty string = no validation dataset.",
        "data/my_validation.jsonl",
    ),
    "reward_spec": KeySpec(
        "reward_specs/gsm8k.toml",
        "The reward spec (TOML) the reward Lambda applies; validated at synth and bundled with the code.",
        "reward_specs/gsm8k.toml",
    ),
    "judge_model_id": KeySpec(
        DEFAULT_JUDGE_MODEL_ID,
        "The judge model of specs that use the `judge` grader (LLM-as-judge): a Bedrock model id, a "
        "cross-region inference profile id (`us.`, `eu.`, `apac.`, `global.` ...) or an inference-profile "
        "ARN. The reward Lambda's role may invoke exactly this model; ignored when the spec has no judge.",
        "us.amazon.nova-lite-v1:0",
    ),
    "judge_profile_regions": KeySpec(
        "",
        "Regions the judge's inference profile routes to, comma-separated (its foundation-model ARNs in "
        "those regions go into the IAM policy). Empty = the built-in table of known profiles.",
        "us-east-1,us-east-2,us-west-2",
    ),
    "start_job": KeySpec(
        False,
        "Start the RFT job on deploy (costs money). false: deploy data, grader and roles only.",
        "true",
    ),
    "batch_inference": KeySpec(
        False,
        "Add the service role Bedrock batch inference runs as (`--via batch`): it may read `batch-input/` "
        "of the dataset bucket, write `batch-output/` of the output bucket and invoke exactly the base "
        "model's inference profile. No cost by itself.",
        "true",
    ),
    "epoch_count": KeySpec(2, "RFT hyperparameter `epochCount`: passes over the training data.", "2"),
    "batch_size": KeySpec(64, "RFT hyperparameter `batchSize`: prompts per training step.", "64"),
    "learning_rate": KeySpec(1e-5, "RFT hyperparameter `learningRate`.", "1e-5"),
    "samples_per_prompt": KeySpec(
        4,
        "RFT hyperparameter `trainingSamplePerPrompt`: responses generated per prompt (the group GRPO "
        "compares rewards within).",
        "8",
    ),
    "max_prompt_length": KeySpec(
        4096,
        "RFT hyperparameter `maxPromptLength` (tokens). Together with `inference_max_tokens` at most "
        f"{MAX_CONTEXT_TOKENS} (the 256k context window).",
        "4096",
    ),
    "inference_max_tokens": KeySpec(
        8192, "RFT hyperparameter `inferenceMaxTokens`: maximum tokens per generated response.", "8192"
    ),
    "reasoning_effort": KeySpec(
        "high",
        "RFT hyperparameter `reasoningEffort`: `low` or `high` (`medium` is in the API model but not "
        "documented for RFT: accepted with a warning).",
        "low",
    ),
    "eval_interval": KeySpec(
        10, "RFT hyperparameter `evalInterval`: training steps between evaluations.", "10"
    ),
    "reward_memory_mb": KeySpec(1024, "Memory of the reward Lambda in MB (128..10240).", "2048"),
    "reward_timeout_s": KeySpec(
        300,
        "Timeout of the reward Lambda in seconds (60..900). The handler answers every sample before it.",
        "600",
    ),
    "code_runner_memory_mb": KeySpec(
        2048,
        "Memory of the code-runner Lambda in MB (128..10240), created only for specs with the `code` grader. "
        "Lambda allots CPU in proportion to memory (1,769 MB = one vCPU).",
        "3008",
    ),
    "code_runner_timeout_s": KeySpec(
        60,
        "Timeout of one code-runner invocation in seconds (5..900, and below `reward_timeout_s`): the "
        "longest a chunk of programs may run. A chunk that times out is split to find the culprit.",
        "120",
    ),
    "code_runner_reserved_concurrency": KeySpec(
        100,
        "Reserved concurrency of the code-runner Lambda (1..10000): the most sandboxes running at once, "
        "across all reward invocations. AWS refuses a reservation that leaves the account under 100 "
        "unreserved executions.",
        "200",
    ),
    "reward_reserved_concurrency": KeySpec(
        100,
        "Reserved concurrency of the reward Lambda (0..10000; 0 = no reservation): the most batches graded "
        "at once, which bounds the judge's demand on its quota. AWS refuses a reservation that leaves the "
        'account under 100 unreserved executions (docs/judge.md, "Capacity").',
        "64",
    ),
    "judge_requests_per_minute": KeySpec(
        0,
        "The judge model's on-demand requests-per-minute quota in this account (Service Quotas), for the "
        "synth warning on the judge's fan-out; 0 = unknown (the job starter's preflight reads it).",
        "2000",
    ),
    "architecture": KeySpec("arm64", "Lambda architecture: `arm64` or `x86_64`.", "x86_64"),
    "encryption": KeySpec(
        "s3-managed",
        "`s3-managed` (SSE-S3) or `kms`: a customer-managed KMS key with rotation for the dataset and output "
        "buckets and the custom model, granted only to the roles that need it.",
        "kms",
    ),
    "notification_email": KeySpec(
        "",
        "Email address subscribed to job state changes (confirm the SNS email). Empty = no subscription.",
        "me@example.com",
    ),
    "retain_data": KeySpec(
        True,
        "Keep the buckets (and KMS key) when the stacks are destroyed. false: delete them and their objects.",
        "false",
    ),
    "preflight_rows": KeySpec(
        4,
        "Dataset rows the job starter grades with the deployed reward Lambda before starting the job (0..50; 0 skips the smoke test: not recommended).",
        "8",
    ),
    "log_level": KeySpec(
        "INFO",
        "Log level of the reward Lambda: DEBUG (one line per sample), INFO (one line per batch, plus "
        "samples with a non-ok status), WARNING or ERROR.",
        "DEBUG",
    ),
    "alarm_non_ok_rate": KeySpec(
        0.05,
        "Alarm when more than this fraction of dimension results in 5 minutes have a status that is not a "
        "judgement of the response (no_reference, error, timeout, deadline). 0 < rate <= 1.",
        "0.1",
    ),
    "alarm_judge_throttle_rate": KeySpec(
        0.5,
        "Alarm when more than this fraction of judge calls are throttled in three 5-minute periods in a row "
        "(specs with a judge; the paced judge probes above its quota, so some throttling is normal). "
        "0 < rate <= 1.",
        "0.3",
    ),
    "acknowledge_warnings": KeySpec(
        "",
        "Synth warnings you have read and accept, comma-separated by id (each warning line ends with its "
        "id), e.g. small-validation-set. Acknowledged warnings are not printed.",
        "small-validation-set,duplicate-prompt",
    ),
}

#: Names people type for our keys -> the key (beyond what difflib finds).
_ALIASES: dict[str, str] = {
    "epochs": "epoch_count",
    "prefix": "name_prefix",
    "model": "base_model_id",
    "base_model": "base_model_id",
    "train_data": "training_data",
    "spec": "reward_spec",
    "samples": "samples_per_prompt",
    "training_sample_per_prompt": "samples_per_prompt",
    "memory": "reward_memory_mb",
    "timeout": "reward_timeout_s",
    "email": "notification_email",
    "arch": "architecture",
    **{api.lower(): key for key, api in _HP_KEYS.items()},
}


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


# ---------------------------------------------------------------------------------------------------------
# Parsing: each parser takes the raw value (typed from cdk.json, or a string from -c) and returns the typed
# value or raises _Invalid(allowed) — the caller turns that into a message with the key and an example.


class _Invalid(Exception):
    def __init__(self, allowed: str) -> None:
        super().__init__(allowed)
        self.allowed = allowed


_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def _as_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        return raw.strip().lower() in _TRUE
    raise _Invalid("true or false")


def _as_int(raw: Any, allowed: str) -> int:
    if isinstance(raw, bool):
        raise _Invalid(allowed)
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str) and re.fullmatch(r"\s*[+-]?\d+\s*", raw):
        return int(raw)
    raise _Invalid(allowed)


def _as_float(raw: Any, allowed: str) -> float:
    if isinstance(raw, bool):
        raise _Invalid(allowed)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise _Invalid(allowed) from None
    if not math.isfinite(value):
        raise _Invalid(allowed)
    return value


def _as_str(raw: Any) -> str:
    if isinstance(raw, str):
        return raw.strip()
    raise _Invalid("a string")


def _int_range(lo: int, hi: int, why: str = "") -> Callable[[Any], int]:
    allowed = f"an integer {lo}..{hi}{why}"

    def parse(raw: Any) -> int:
        value = _as_int(raw, allowed)
        if not lo <= value <= hi:
            raise _Invalid(allowed)
        return value

    return parse


def _choice(*choices: str) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        value = _as_str(raw) if isinstance(raw, str) else raw
        if value not in choices:
            raise _Invalid("one of " + ", ".join(choices))
        return value

    return parse


def _hp_parser(api_name: str, c: Constraint) -> Callable[[Any], int | float | str]:
    """A parser for one hyperparameter, from its service-model constraint (plus our own bounds)."""
    source = f" (Bedrock API model, rftConfig.hyperParameters.{api_name})"
    if c.enum:
        allowed = "one of " + ", ".join(c.enum) + source

        def parse_enum(raw: Any) -> str:
            value = raw.strip().lower() if isinstance(raw, str) else raw
            if value not in c.enum:
                raise _Invalid(allowed)
            return value

        return parse_enum
    lo, hi = c.min, c.max
    if lo is None and hi is None:
        # maxPromptLength / inferenceMaxTokens: unbounded in the model; bound them by the context window.
        lo, hi, source = 1, MAX_CONTEXT_TOKENS, " (our bound: the model's 256k-token context window)"
    if c.type_name in ("float", "double"):
        allowed = f"a number {lo:g}..{hi:g}{source}"

        def parse_float(raw: Any) -> float:
            value = _as_float(raw, allowed)
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                raise _Invalid(allowed)
            return value

        return parse_float
    return _int_range(int(lo if lo is not None else 0), int(hi if hi is not None else 2**31 - 1), source)


_NAME_PREFIX = re.compile(r"[a-z][a-z0-9-]{0,19}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


def _name_prefix(raw: Any) -> str:
    allowed = (
        "lowercase letters, digits and hyphens, starting with a letter, not ending with '-', 1..20 characters"
    )
    value = _as_str(raw) if isinstance(raw, str) else raw
    if not isinstance(value, str) or not _NAME_PREFIX.fullmatch(value) or value.endswith("-"):
        raise _Invalid(allowed)
    return value


def _base_model(raw: Any) -> str:
    value = _as_str(raw)
    model = value.rsplit("/", 1)[-1] if value.startswith("arn:") else value
    if model not in RFT_MODELS:
        raise _Invalid(
            "a base model with Bedrock reinforcement fine-tuning: "
            + ", ".join(RFT_MODELS)
            + " (or its foundation-model ARN)"
        )
    return value


def _email(raw: Any) -> str | None:
    if raw is None:
        return None
    value = _as_str(raw)
    if not value:
        return None
    if not _EMAIL.fullmatch(value):
        raise _Invalid("an email address like me@example.com, or empty for no notification email")
    return value


def _path(raw: Any, *, optional: bool) -> Path | None:
    if raw is None and optional:
        return None
    value = _as_str(raw)
    if not value:
        if optional:
            return None
        raise _Invalid("a path to an existing file (relative to the project root, or absolute)")
    path = Path(value).expanduser()
    path = path if path.is_absolute() else PROJECT_ROOT / path
    if not path.is_file():
        what = "no such file" if not path.exists() else "not a file"
        raise _Invalid(
            f"a path to an existing file; {what}: {path} (relative paths are resolved against {PROJECT_ROOT})"
        )
    return path


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_REGION = re.compile(r"[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d")


def _judge_model(raw: Any) -> str:
    value = _as_str(raw)
    if not is_judge_model_id(value):
        raise _Invalid(JUDGE_MODEL_FORMS)
    return value


def _regions(raw: Any) -> tuple[str, ...]:
    allowed = "region names separated by commas, e.g. us-east-1,us-east-2,us-west-2 (or empty)"
    if isinstance(raw, (list, tuple)):
        items = [str(r).strip() for r in raw]
    else:
        items = [r.strip() for r in _as_str(raw).split(",")]
    regions = tuple(r for r in items if r)
    if any(not _REGION.fullmatch(r) for r in regions):
        raise _Invalid(allowed)
    return tuple(dict.fromkeys(regions))


def _log_level(raw: Any) -> str:
    value = _as_str(raw).upper()
    if value not in _LOG_LEVELS:
        raise _Invalid("one of " + ", ".join(_LOG_LEVELS))
    return value


def _warning_ids(raw: Any) -> tuple[str, ...]:
    known = warning_ids()
    ids = tuple(dict.fromkeys(part.strip() for part in _as_str(raw).split(",") if part.strip()))
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise _Invalid(
            f"comma-separated warning ids from: {', '.join(known)} (unknown: {', '.join(unknown)})"
        )
    return ids


def _rate(raw: Any) -> float:
    allowed = "a fraction 0 < rate <= 1, e.g. 0.05 for 5%"
    value = _as_float(raw, allowed)
    if not 0 < value <= 1:
        raise _Invalid(allowed)
    return value


# ---------------------------------------------------------------------------------------------------------


def _problem(key: str, raw: Any, allowed: str, example: Any = None) -> str:
    """The message for a rejected value: what is allowed, a valid example (never the rejected value),
    and the cdk.json default as JSON spells it (``false``, not ``False``)."""
    example = CONTEXT_KEYS[key].example if example is None else example
    default = json.dumps(CONTEXT_KEYS[key].default)
    return (
        f"Invalid context value for {key!r}: {raw!r}\n"
        f"  allowed: {allowed}\n"
        f"  example: npx cdk synth -c {key}={example}   (default in cdk.json: {default})"
    )


def _unknown_key_problems(context: Mapping[str, Any]) -> list[str]:
    """Context keys that look like typos of ours (`-c epochs=3`) — silently ignoring them would be worse."""
    problems = []
    for key in context:
        # Feature flags and CLI-internal keys (`@aws-cdk/...`, `aws:cdk:...`) are not ours to judge.
        if key in CONTEXT_KEYS or any(ch in key for ch in ":/@"):
            continue
        normalized = key.strip().lower().replace("-", "_")
        suggestion = _ALIASES.get(normalized)
        if suggestion is None and normalized in CONTEXT_KEYS:
            suggestion = normalized
        if suggestion is None:
            close = difflib.get_close_matches(normalized, list(CONTEXT_KEYS), n=1, cutoff=0.75)
            suggestion = close[0] if close else None
        if suggestion is not None:
            problems.append(
                f"Unknown context key {key!r}: did you mean {suggestion!r}?\n"
                f"  {CONTEXT_KEYS[suggestion].help}\n"
                f"  example: npx cdk synth -c {suggestion}={CONTEXT_KEYS[suggestion].example}"
            )
    return problems


def load_config(node: constructs.Node) -> Config:
    """Read and validate every context key; raise `ConfigError` listing every bad value.

    Missing keys take the defaults of `CONTEXT_KEYS` (identical to cdk.json's "context").
    """
    context = node.get_all_context()
    problems = _unknown_key_problems(context)
    warnings: list[ConfigWarning] = []
    values: dict[str, Any] = {}

    def raw_of(key: str) -> Any:
        raw = node.try_get_context(key)
        return CONTEXT_KEYS[key].default if raw is None else raw

    def read(key: str, parse: Callable[[Any], Any]) -> None:
        raw = raw_of(key)
        try:
            values[key] = parse(raw)
        except _Invalid as invalid:
            problems.append(_problem(key, raw, invalid.allowed))

    read("name_prefix", _name_prefix)
    read("base_model_id", _base_model)
    read("region", _as_str)
    read("training_data", lambda raw: _path(raw, optional=False))
    read("validation_data", lambda raw: _path(raw, optional=True))
    read("reward_spec", lambda raw: _path(raw, optional=False))
    read("judge_model_id", _judge_model)
    read("judge_profile_regions", _regions)
    read("start_job", _as_bool)
    read("batch_inference", _as_bool)
    read("reward_memory_mb", _int_range(128, 10240, " (Lambda's memory limits)"))
    read("reward_timeout_s", _int_range(60, 900, " (Lambda's maximum is 900)"))
    read("code_runner_memory_mb", _int_range(128, 10240, " (Lambda's memory limits)"))
    read("code_runner_timeout_s", _int_range(5, 900, " (Lambda's maximum is 900)"))
    read("code_runner_reserved_concurrency", _int_range(1, 10000))
    read("reward_reserved_concurrency", _int_range(0, 10000))
    read("judge_requests_per_minute", _int_range(0, 100_000_000))
    read("architecture", _choice("arm64", "x86_64"))
    read("encryption", _choice("s3-managed", "kms"))
    read("notification_email", _email)
    read("retain_data", _as_bool)
    read("preflight_rows", _int_range(0, 50))
    read("log_level", _log_level)
    read("acknowledge_warnings", _warning_ids)
    read("alarm_non_ok_rate", _rate)
    read("alarm_judge_throttle_rate", _rate)

    constraints = hyperparameter_constraints()
    hyperparameters: dict[str, int | float | str] = {}
    for key, api_name in _HP_KEYS.items():
        read(key, _hp_parser(api_name, constraints[api_name]))
        if key in values:
            hyperparameters[api_name] = values[key]

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
    return Config(
        name_prefix=values["name_prefix"],
        region=values["region"],
        account=os.environ.get("CDK_DEFAULT_ACCOUNT") or None,
        base_model_id=values["base_model_id"],
        training_data=values["training_data"],
        validation_data=values["validation_data"],
        reward_spec=values["reward_spec"],
        judge_model_id=values["judge_model_id"],
        judge_profile_regions=values["judge_profile_regions"],
        start_job=values["start_job"],
        batch_inference=values["batch_inference"],
        hyperparameters=hyperparameters,
        reward_memory_mb=values["reward_memory_mb"],
        reward_timeout_s=values["reward_timeout_s"],
        code_runner_memory_mb=values["code_runner_memory_mb"],
        code_runner_timeout_s=values["code_runner_timeout_s"],
        code_runner_reserved_concurrency=values["code_runner_reserved_concurrency"],
        reward_reserved_concurrency=values["reward_reserved_concurrency"],
        judge_requests_per_minute=values["judge_requests_per_minute"],
        architecture=values["architecture"],
        encryption=values["encryption"],
        notification_email=values["notification_email"],
        retain_data=values["retain_data"],
        preflight_rows=values["preflight_rows"],
        log_level=values["log_level"],
        alarm_non_ok_rate=values["alarm_non_ok_rate"],
        alarm_judge_throttle_rate=values["alarm_judge_throttle_rate"],
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
            _problem(
                "region",
                region,
                f"{', '.join(regions)} — {model} supports reinforcement fine-tuning only there, and the "
                "dataset buckets, the reward Lambda and the job must be in the job's region",
            )
        )
    elif model != values["base_model_id"] and f":bedrock:{region}:" not in values["base_model_id"]:
        problems.append(
            _problem("base_model_id", values["base_model_id"], f"a foundation-model ARN in region {region}")
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
            _problem(
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
            _problem(
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
