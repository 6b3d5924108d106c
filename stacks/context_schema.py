"""Every CDK context key, declared once: its default, what it means, an example and its parser (a
`KeySpec`), and the messages a rejected value or a mistyped key gets. No CDK import: `stacks/config.py`
(the one reader of context at synth) and `rft/project.py` (the training settings `rft baseline` and `rft
eval` mirror) parse with the same table.

Ranges and enums of the RFT hyperparameters come from botocore's Bedrock service model (through
`job_starter.request_model`), so they cannot drift from the API.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reward import dataset as _dataset
from reward.graders.judge import DEFAULT_MODEL_ID as JUDGE_DEFAULT_MODEL_ID
from stacks.judge_model import JUDGE_MODEL_FORMS, is_judge_model_id
from stacks.models import MAX_CONTEXT_TOKENS, RFT_MODELS
from stacks.paths import PROJECT_ROOT

if TYPE_CHECKING:
    from job_starter.request_model import Constraint

#: The judge model when `judge_model_id` is not set: Amazon Nova Pro through the US cross-region inference
#: profile (routes to us-east-1, us-east-2 and us-west-2). Defined by the judge grader (its fallback when
#: JUDGE_MODEL_ID is unset), so the two cannot drift; that module imports no boto3 at import time.
DEFAULT_JUDGE_MODEL_ID: str = JUDGE_DEFAULT_MODEL_ID

#: Dataset size limits for RFT (docs/contract.md §2). The 100-row minimum is documented for training data.
# The dataset rules live in reward.dataset (shared with `rft validate-data`), so the two cannot disagree.
TRAINING_MIN_ROWS = _dataset.TRAINING_MIN_ROWS
VALIDATION_RECOMMENDED_ROWS = _dataset.VALIDATION_RECOMMENDED_ROWS
MAX_ROWS = _dataset.DEFAULT_MAX_ROWS


@dataclass(frozen=True)
class KeySpec:
    """One context key, declared once: its default (as written in cdk.json), what it means, an example value
    for messages, and its parser (the raw value, typed from cdk.json or a string from ``-c``, to the typed
    value; raises ``Invalid`` saying what is allowed)."""

    default: Any
    help: str
    example: str
    parse: Callable[[Any], Any]


#: The ids a config warning can have (acknowledge_warnings accepts these): the dataset rules' warnings and
#: the hyperparameter checks below.
REASONING_EFFORT_WARNING = "reasoning-effort-medium"
JUDGE_QUOTA_WARNING = "judge-quota"


def warning_ids() -> tuple[str, ...]:
    """Every id ``acknowledge_warnings`` accepts."""
    from reward.dataset import RULES, WARNING

    return (
        *sorted(code for code, rule in RULES.items() if rule.severity == WARNING),
        REASONING_EFFORT_WARNING,
        JUDGE_QUOTA_WARNING,
    )


# ---------------------------------------------------------------------------------------------------------
# Parsing: each parser takes the raw value (typed from cdk.json, or a string from -c) and returns the typed
# value or raises Invalid(allowed) — the caller turns that into a message with the key and an example.


class Invalid(Exception):
    """A value a parser rejects; ``allowed`` says what it accepts."""

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
    raise Invalid("true or false")


def _as_int(raw: Any, allowed: str) -> int:
    if isinstance(raw, bool):
        raise Invalid(allowed)
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str) and re.fullmatch(r"\s*[+-]?\d+\s*", raw):
        return int(raw)
    raise Invalid(allowed)


def _as_float(raw: Any, allowed: str) -> float:
    if isinstance(raw, bool):
        raise Invalid(allowed)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise Invalid(allowed) from None
    if not math.isfinite(value):
        raise Invalid(allowed)
    return value


def _as_str(raw: Any) -> str:
    if isinstance(raw, str):
        return raw.strip()
    raise Invalid("a string")


def _int_range(lo: int, hi: int, why: str = "") -> Callable[[Any], int]:
    allowed = f"an integer {lo}..{hi}{why}"

    def parse(raw: Any) -> int:
        value = _as_int(raw, allowed)
        if not lo <= value <= hi:
            raise Invalid(allowed)
        return value

    return parse


def _choice(*choices: str) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        value = _as_str(raw) if isinstance(raw, str) else raw
        if value not in choices:
            raise Invalid("one of " + ", ".join(choices))
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
                raise Invalid(allowed)
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
                raise Invalid(allowed)
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
        raise Invalid(allowed)
    return value


def _base_model(raw: Any) -> str:
    value = _as_str(raw)
    model = value.rsplit("/", 1)[-1] if value.startswith("arn:") else value
    if model not in RFT_MODELS:
        raise Invalid(
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
        raise Invalid("an email address like me@example.com, or empty for no notification email")
    return value


def _path(raw: Any, *, optional: bool) -> Path | None:
    """A dataset or spec path: relative to the project root, and an existing file."""
    if raw is None and optional:
        return None
    value = _as_str(raw)
    if not value:
        if optional:
            return None
        raise Invalid("a path to an existing file (relative to the project root, or absolute)")
    path = Path(value).expanduser()
    path = path if path.is_absolute() else PROJECT_ROOT / path
    if not path.is_file():
        what = "no such file" if not path.exists() else "not a file"
        raise Invalid(
            f"a path to an existing file; {what}: {path} (relative paths are resolved against {PROJECT_ROOT})"
        )
    return path


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_REGION = re.compile(r"[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d")


def _judge_model(raw: Any) -> str:
    value = _as_str(raw)
    if not is_judge_model_id(value):
        raise Invalid(JUDGE_MODEL_FORMS)
    return value


def _regions(raw: Any) -> tuple[str, ...]:
    allowed = "region names separated by commas, e.g. us-east-1,us-east-2,us-west-2 (or empty)"
    if isinstance(raw, (list, tuple)):
        items = [str(r).strip() for r in raw]
    else:
        items = [r.strip() for r in _as_str(raw).split(",")]
    regions = tuple(r for r in items if r)
    if any(not _REGION.fullmatch(r) for r in regions):
        raise Invalid(allowed)
    return tuple(dict.fromkeys(regions))


def _log_level(raw: Any) -> str:
    value = _as_str(raw).upper()
    if value not in _LOG_LEVELS:
        raise Invalid("one of " + ", ".join(_LOG_LEVELS))
    return value


def _warning_ids(raw: Any) -> tuple[str, ...]:
    known = warning_ids()
    ids = tuple(dict.fromkeys(part.strip() for part in _as_str(raw).split(",") if part.strip()))
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise Invalid(f"comma-separated warning ids from: {', '.join(known)} (unknown: {', '.join(unknown)})")
    return ids


def _rate(raw: Any) -> float:
    allowed = "a fraction 0 < rate <= 1, e.g. 0.05 for 5%"
    value = _as_float(raw, allowed)
    if not 0 < value <= 1:
        raise Invalid(allowed)
    return value


# ---------------------------------------------------------------------------------------------------------


def _required_path(raw: Any) -> Path | None:
    return _path(raw, optional=False)


def _optional_path(raw: Any) -> Path | None:
    return _path(raw, optional=True)


def hyperparameter(api_name: str) -> Callable[[Any], int | float | str]:
    """The parser of one RFT hyperparameter, built from botocore's Bedrock service model on first use (so
    the ranges cannot drift from the API; the model is read only when a value is parsed)."""

    def parse(raw: Any) -> int | float | str:
        from job_starter.request_model import hyperparameter_constraints

        return _hp_parser(api_name, hyperparameter_constraints()[api_name])(raw)

    return parse


#: The context keys of the RFT hyperparameters -> their API names (``rftConfig.hyperParameters``).
HP_KEYS: dict[str, str] = {
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
        parse=_name_prefix,
    ),
    "region": KeySpec(
        "us-east-1",
        "AWS region of all three stacks. Must be a region where the base model supports RFT "
        "(Nova 2 Lite: us-east-1 only); the data, the reward Lambda and the job must share it.",
        "us-east-1",
        parse=_as_str,
    ),
    "base_model_id": KeySpec(
        "amazon.nova-2-lite-v1:0:256k",
        "The model to fine-tune (model id or its foundation-model ARN). Only models with Bedrock RFT.",
        "amazon.nova-2-lite-v1:0:256k",
        parse=_base_model,
    ),
    "training_data": KeySpec(
        "data/sample/train.jsonl",
        "Training dataset (JSONL, Nova RFT format), relative to the project root or absolute. Validated "
        f"at synth time ({TRAINING_MIN_ROWS}..{MAX_ROWS} rows); uploaded under a content-addressed key.",
        "data/my_train.jsonl",
        parse=_required_path,
    ),
    "validation_data": KeySpec(
        "data/sample/validation.jsonl",
        "Optional validation dataset (same format; at least 1 row, fewer than "
        f"{VALIDATION_RECOMMENDED_ROWS} is a warning). Empty string = no validation dataset.",
        "data/my_validation.jsonl",
        parse=_optional_path,
    ),
    "reward_spec": KeySpec(
        "reward_specs/gsm8k.toml",
        "The reward spec (TOML) the reward Lambda applies; validated at synth and bundled with the code.",
        "reward_specs/gsm8k.toml",
        parse=_required_path,
    ),
    "judge_model_id": KeySpec(
        DEFAULT_JUDGE_MODEL_ID,
        "The judge model of specs that use the `judge` grader (LLM-as-judge): a Bedrock model id, a "
        "cross-region inference profile id (`us.`, `eu.`, `apac.`, `global.` ...) or an inference-profile "
        "ARN. The reward Lambda's role may invoke exactly this model; ignored when the spec has no judge.",
        "us.amazon.nova-lite-v1:0",
        parse=_judge_model,
    ),
    "judge_profile_regions": KeySpec(
        "",
        "Regions the judge's inference profile routes to, comma-separated (its foundation-model ARNs in "
        "those regions go into the IAM policy). Empty = the built-in table of known profiles.",
        "us-east-1,us-east-2,us-west-2",
        parse=_regions,
    ),
    "start_job": KeySpec(
        False,
        "Start the RFT job on deploy (costs money). false: deploy data, grader and roles only.",
        "true",
        parse=_as_bool,
    ),
    "batch_inference": KeySpec(
        False,
        "Add the service role Bedrock batch inference runs as (`--via batch`): it may read `batch-input/` "
        "of the dataset bucket, write `batch-output/` of the output bucket and invoke exactly the base "
        "model's inference profile. No cost by itself.",
        "true",
        parse=_as_bool,
    ),
    "epoch_count": KeySpec(
        2,
        "RFT hyperparameter `epochCount`: passes over the training data.",
        "2",
        parse=hyperparameter("epochCount"),
    ),
    "batch_size": KeySpec(
        64,
        "RFT hyperparameter `batchSize`: prompts per training step.",
        "64",
        parse=hyperparameter("batchSize"),
    ),
    "learning_rate": KeySpec(
        1e-5, "RFT hyperparameter `learningRate`.", "1e-5", parse=hyperparameter("learningRate")
    ),
    "samples_per_prompt": KeySpec(
        4,
        "RFT hyperparameter `trainingSamplePerPrompt`: responses generated per prompt (the group GRPO "
        "compares rewards within).",
        "8",
        parse=hyperparameter("trainingSamplePerPrompt"),
    ),
    "max_prompt_length": KeySpec(
        4096,
        "RFT hyperparameter `maxPromptLength` (tokens). Together with `inference_max_tokens` at most "
        f"{MAX_CONTEXT_TOKENS} (the 256k context window).",
        "4096",
        parse=hyperparameter("maxPromptLength"),
    ),
    "inference_max_tokens": KeySpec(
        8192,
        "RFT hyperparameter `inferenceMaxTokens`: maximum tokens per generated response.",
        "8192",
        parse=hyperparameter("inferenceMaxTokens"),
    ),
    "reasoning_effort": KeySpec(
        "high",
        "RFT hyperparameter `reasoningEffort`: `low` or `high` (`medium` is in the API model but not "
        "documented for RFT: accepted with a warning).",
        "low",
        parse=hyperparameter("reasoningEffort"),
    ),
    "eval_interval": KeySpec(
        10,
        "RFT hyperparameter `evalInterval`: training steps between evaluations.",
        "10",
        parse=hyperparameter("evalInterval"),
    ),
    "reward_memory_mb": KeySpec(
        1024,
        "Memory of the reward Lambda in MB (128..10240).",
        "2048",
        parse=_int_range(128, 10240, " (Lambda's memory limits)"),
    ),
    "reward_timeout_s": KeySpec(
        300,
        "Timeout of the reward Lambda in seconds (60..900). The handler answers every sample before it.",
        "600",
        parse=_int_range(60, 900, " (Lambda's maximum is 900)"),
    ),
    "code_runner_memory_mb": KeySpec(
        2048,
        "Memory of the code-runner Lambda in MB (128..10240), created only for specs with the `code` grader. "
        "Lambda allots CPU in proportion to memory (1,769 MB = one vCPU).",
        "3008",
        parse=_int_range(128, 10240, " (Lambda's memory limits)"),
    ),
    "code_runner_timeout_s": KeySpec(
        60,
        "Timeout of one code-runner invocation in seconds (5..900, and below `reward_timeout_s`): the "
        "longest a chunk of programs may run. A chunk that times out is split to find the culprit.",
        "120",
        parse=_int_range(5, 900, " (Lambda's maximum is 900)"),
    ),
    "code_runner_reserved_concurrency": KeySpec(
        100,
        "Reserved concurrency of the code-runner Lambda (1..10000): the most sandboxes running at once, "
        "across all reward invocations. AWS refuses a reservation that leaves the account under 100 "
        "unreserved executions.",
        "200",
        parse=_int_range(1, 10000),
    ),
    "reward_reserved_concurrency": KeySpec(
        100,
        "Reserved concurrency of the reward Lambda (0..10000; 0 = no reservation): the most batches graded "
        "at once, which bounds the judge's demand on its quota. AWS refuses a reservation that leaves the "
        'account under 100 unreserved executions (docs/judge.md, "Capacity").',
        "64",
        parse=_int_range(0, 10000),
    ),
    "judge_requests_per_minute": KeySpec(
        0,
        "The judge model's on-demand requests-per-minute quota in this account (Service Quotas), for the "
        "synth warning on the judge's fan-out; 0 = unknown (the job starter's preflight reads it).",
        "2000",
        parse=_int_range(0, 100_000_000),
    ),
    "architecture": KeySpec(
        "arm64", "Lambda architecture: `arm64` or `x86_64`.", "x86_64", parse=_choice("arm64", "x86_64")
    ),
    "encryption": KeySpec(
        "s3-managed",
        "`s3-managed` (SSE-S3) or `kms`: a customer-managed KMS key with rotation for the dataset and output "
        "buckets and the custom model, granted only to the roles that need it.",
        "kms",
        parse=_choice("s3-managed", "kms"),
    ),
    "notification_email": KeySpec(
        "",
        "Email address subscribed to job state changes (confirm the SNS email). Empty = no subscription.",
        "me@example.com",
        parse=_email,
    ),
    "retain_data": KeySpec(
        True,
        "Keep the buckets (and KMS key) when the stacks are destroyed. false: delete them and their objects.",
        "false",
        parse=_as_bool,
    ),
    "preflight_rows": KeySpec(
        4,
        "Dataset rows the job starter grades with the deployed reward Lambda before starting the job (0..50; 0 skips the smoke test: not recommended).",
        "8",
        parse=_int_range(0, 50),
    ),
    "log_level": KeySpec(
        "INFO",
        "Log level of the reward Lambda: DEBUG (one line per sample), INFO (one line per batch, plus "
        "samples with a non-ok status), WARNING or ERROR.",
        "DEBUG",
        parse=_log_level,
    ),
    "alarm_non_ok_rate": KeySpec(
        0.05,
        "Alarm when more than this fraction of dimension results in 5 minutes have a status that is not a "
        "judgement of the response (no_reference, error, timeout, deadline). 0 < rate <= 1.",
        "0.1",
        parse=_rate,
    ),
    "alarm_judge_throttle_rate": KeySpec(
        0.5,
        "Alarm when more than this fraction of judge calls are throttled in three 5-minute periods in a row "
        "(specs with a judge; the paced judge probes above its quota, so some throttling is normal). "
        "0 < rate <= 1.",
        "0.3",
        parse=_rate,
    ),
    "acknowledge_warnings": KeySpec(
        "",
        "Synth warnings you have read and accept, comma-separated by id (each warning line ends with its "
        "id), e.g. small-validation-set. Acknowledged warnings are not printed.",
        "small-validation-set,duplicate-prompt",
        parse=_warning_ids,
    ),
}

#: Names people type for our keys -> the key (beyond what difflib finds).
ALIASES: dict[str, str] = {
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
    **{api.lower(): key for key, api in HP_KEYS.items()},
}


def problem(key: str, raw: Any, allowed: str, example: Any = None) -> str:
    """The message for a rejected value: what is allowed, a valid example (never the rejected value),
    and the cdk.json default as JSON spells it (``false``, not ``False``)."""
    example = CONTEXT_KEYS[key].example if example is None else example
    default = json.dumps(CONTEXT_KEYS[key].default)
    return (
        f"Invalid context value for {key!r}: {raw!r}\n"
        f"  allowed: {allowed}\n"
        f"  example: npx cdk synth -c {key}={example}   (default in cdk.json: {default})"
    )


def unknown_key_problems(context: Mapping[str, Any]) -> list[str]:
    """Context keys that look like typos of ours (`-c epochs=3`) — silently ignoring them would be worse."""
    problems = []
    for key in context:
        # Feature flags and CLI-internal keys (`@aws-cdk/...`, `aws:cdk:...`) are not ours to judge.
        if key in CONTEXT_KEYS or any(ch in key for ch in ":/@"):
            continue
        normalized = key.strip().lower().replace("-", "_")
        suggestion = ALIASES.get(normalized)
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
