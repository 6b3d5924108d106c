"""From the custom resource's properties to a CreateModelCustomizationJob request.

CloudFormation hands a custom resource every property as a string; this module parses them once into a
typed :class:`JobProperties`, coerces the hyperparameters to the types the service model declares, and
builds the exact request the starter sends (checked with :func:`request_model.check_request`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from job_starter.job_name import JobNames
from job_starter.request_model import Constraint, hyperparameter_constraints

_REQUIRED = (
    "RoleArn",
    "BaseModelIdentifier",
    "TrainingDataS3Uri",
    "OutputDataS3Uri",
    "RewardFunctionArn",
)
DEFAULT_PREFLIGHT_ROWS = 4


class PropertiesError(ValueError):
    """The custom resource's properties are wrong; the message lists every problem."""


@dataclass(frozen=True)
class JobProperties:
    """The custom resource's ResourceProperties, parsed and typed."""

    role_arn: str
    base_model_identifier: str
    training_data_s3_uri: str
    validation_data_s3_uri: str  # "" = none
    output_data_s3_uri: str
    reward_function_arn: str  # the published version ARN the job pins to
    hyperparameters: Mapping[str, int | float | str]
    custom_model_kms_key_id: str  # "" = none
    spec_sha256: str
    name_prefix: str
    preflight_rows: int  # 0 = skip the smoke test
    control_template: str
    tags: tuple[tuple[str, str], ...]
    judge_model_id: str = ""  # "" = the spec has no judge: no quota report
    judge_calls_per_sample: int = 0
    reward_reserved_concurrency: int = 0


def coerce_hyperparameter(name: str, value: Any, rule: Constraint) -> int | float | str:
    """``value`` as the type the service model declares for ``name``; ValueError saying what is allowed."""
    allowed = f"{name} must be {rule.describe()}"
    if rule.type_name in ("integer", "long"):
        number: Any = value
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise ValueError(f"{allowed}; got {value!r}") from None
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise ValueError(f"{allowed}; got {value!r}")
        if not math.isfinite(number) or not float(number).is_integer():
            raise ValueError(f"{allowed} (a whole number); got {value!r}")
        return int(number)
    if rule.type_name in ("float", "double"):
        if isinstance(value, bool):
            raise ValueError(f"{allowed}; got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{allowed}; got {value!r}") from None
        if not math.isfinite(number):
            raise ValueError(f"{allowed}; got {value!r}")
        return number
    if not isinstance(value, str):
        raise ValueError(f"{allowed}; got {value!r}")
    return value


def parse_hyperparameters(raw: Any) -> dict[str, int | float | str]:
    """The HyperParameters property (a JSON object string with API names), typed per the service model."""
    if isinstance(raw, str):
        if not raw.strip():
            return {}
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as error:
            raise PropertiesError(f"HyperParameters is not valid JSON ({error}): {raw[:200]!r}") from None
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise PropertiesError(f"HyperParameters must be a JSON object of API names, got {type(raw).__name__}")
    rules = hyperparameter_constraints()
    typed: dict[str, int | float | str] = {}
    problems = []
    for name, value in raw.items():
        if name not in rules:
            problems.append(f"unknown hyperparameter {name!r}; known: {', '.join(sorted(rules))}")
            continue
        try:
            typed[name] = coerce_hyperparameter(name, value, rules[name])
        except ValueError as error:
            problems.append(str(error))
    if problems:
        raise PropertiesError("HyperParameters: " + "; ".join(problems))
    return typed


def _parse_tags(raw: Any) -> tuple[tuple[str, str], ...]:
    if isinstance(raw, str):
        if not raw.strip():
            return ()
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as error:
            raise PropertiesError(f"Tags is not valid JSON ({error})") from None
    if raw is None:
        return ()
    if isinstance(raw, Mapping):  # also accept {"key": "value"}
        return tuple((str(k), str(v)) for k, v in raw.items())
    if not isinstance(raw, list) or not all(isinstance(t, Mapping) and "key" in t for t in raw):
        raise PropertiesError('Tags must be a JSON list of {"key": ..., "value": ...} objects')
    return tuple((str(t["key"]), str(t.get("value", ""))) for t in raw)


def parse_properties(props: Mapping[str, Any]) -> JobProperties:
    """Parse ResourceProperties; :class:`PropertiesError` lists every missing or malformed property."""
    missing = [key for key in _REQUIRED if not str(props.get(key) or "").strip()]
    if missing:
        raise PropertiesError(f"the job starter is missing required properties: {', '.join(missing)}")
    raw_rows = str(props.get("PreflightRows", "") or DEFAULT_PREFLIGHT_ROWS).strip()
    try:
        preflight_rows = int(raw_rows)
    except ValueError:
        raise PropertiesError(f"PreflightRows must be a whole number >= 0, got {raw_rows!r}") from None
    if preflight_rows < 0:
        raise PropertiesError(f"PreflightRows must be a whole number >= 0, got {preflight_rows}")

    def text(key: str) -> str:
        return str(props.get(key) or "").strip()

    reward_arn = text("RewardFunctionArn")
    qualifier = reward_arn.split(":")[7] if reward_arn.count(":") >= 7 else ""
    if not qualifier or qualifier.startswith("$LATEST"):
        # Training would otherwise follow whatever code is deployed next, mid-run.
        raise PropertiesError(
            f"RewardFunctionArn must be a published version ARN (...:function:<name>:<version>), got "
            f"{reward_arn!r}: the job must pin the grader it was preflighted with, never $LATEST"
        )

    return JobProperties(
        role_arn=text("RoleArn"),
        base_model_identifier=text("BaseModelIdentifier"),
        training_data_s3_uri=text("TrainingDataS3Uri"),
        validation_data_s3_uri=text("ValidationDataS3Uri"),
        output_data_s3_uri=text("OutputDataS3Uri"),
        reward_function_arn=reward_arn,
        hyperparameters=parse_hyperparameters(props.get("HyperParameters")),
        custom_model_kms_key_id=text("CustomModelKmsKeyId"),
        spec_sha256=text("SpecSha256"),
        name_prefix=text("NamePrefix"),
        preflight_rows=preflight_rows,
        control_template=str(props.get("ControlTemplate") or ""),  # whitespace may matter in a template
        tags=_parse_tags(props.get("Tags")),
        judge_model_id=text("JudgeModelId"),
        judge_calls_per_sample=_whole(props.get("JudgeCallsPerSample")),
        reward_reserved_concurrency=_whole(props.get("RewardReservedConcurrency")),
    )


def _whole(raw: Any) -> int:
    """A whole number >= 0 from a property string ("" or junk: 0; these only size a report)."""
    try:
        return max(0, int(str(raw or "0").strip()))
    except ValueError:
        return 0


def build_create_request(props: JobProperties, names: JobNames) -> dict[str, Any]:
    """The CreateModelCustomizationJob parameters for this run (REINFORCEMENT_FINE_TUNING)."""
    rft_config: dict[str, Any] = {
        "graderConfig": {"lambdaGrader": {"lambdaArn": props.reward_function_arn}},
    }
    if props.hyperparameters:
        rft_config["hyperParameters"] = dict(props.hyperparameters)
    request: dict[str, Any] = {
        "jobName": names.job_name,
        "customModelName": names.custom_model_name,
        "roleArn": props.role_arn,
        "clientRequestToken": names.client_request_token,
        "baseModelIdentifier": props.base_model_identifier,
        "customizationType": "REINFORCEMENT_FINE_TUNING",
        "trainingDataConfig": {"s3Uri": props.training_data_s3_uri},
        "outputDataConfig": {"s3Uri": props.output_data_s3_uri},
        "customizationConfig": {"rftConfig": rft_config},
    }
    if props.validation_data_s3_uri:
        request["validationDataConfig"] = {"validators": [{"s3Uri": props.validation_data_s3_uri}]}
    if props.custom_model_kms_key_id:
        request["customModelKmsKeyId"] = props.custom_model_kms_key_id
    if props.tags:
        tags = [{"key": key, "value": value} for key, value in props.tags]
        # The trained model outlives the job (the stack never deletes it): tag it too, for cost reports.
        request["jobTags"] = tags
        request["customModelTags"] = [dict(tag) for tag in tags]
    return request
