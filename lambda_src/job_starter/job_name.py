"""Names for a training run, derived from everything that defines it.

The job name is a hash of the run's inputs, so redeploying unchanged inputs names the same job (no second
job, no second bill) and any change to the data, spec, grader version, base model, hyperparameters, KMS
key, role or output location names a new one (CloudFormation then replaces the resource).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Resource properties that define the training run. Tags, the preflight row count and the control
#: template only change how the run is started or labelled, so changing them never starts a new job.
RUN_DEFINING_PROPERTIES = (
    "BaseModelIdentifier",
    "TrainingDataS3Uri",
    "ValidationDataS3Uri",
    "OutputDataS3Uri",
    "SpecSha256",
    "RewardFunctionArn",
    "HyperParameters",
    "CustomModelKmsKeyId",
    "RoleArn",
)
HASH_CHARS = 16  # 64 bits: collisions between one account's runs are not a practical concern
DEFAULT_PREFIX = "nova-rft"


@dataclass(frozen=True)
class JobNames:
    """The identifiers of one training run."""

    run_hash: str  # HASH_CHARS hex chars
    job_name: str  # f"{prefix}-{run_hash}"
    custom_model_name: str  # f"{prefix}-model-{run_hash}"
    client_request_token: str  # the full sha256 hex: a retried create is idempotent


def _canonical_hyperparameters(raw: Any) -> Any:
    """Parse the HyperParameters JSON so formatting and key order never change the hash."""
    if isinstance(raw, str):
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw  # reported by the request builder; hash the text as given
    return raw if raw is not None else {}


def _prefix(props: Mapping[str, Any]) -> str:
    # customModelName's pattern `([0-9a-zA-Z][_-]?){1,63}` forbids "--" and a leading or trailing
    # hyphen, so collapse hyphen runs; the config already restricts the prefix to [a-z][a-z0-9-]{0,19}.
    prefix = str(props.get("NamePrefix") or DEFAULT_PREFIX).strip().lower()
    prefix = re.sub(r"[^a-z0-9-]", "-", prefix)
    prefix = re.sub(r"-{2,}", "-", prefix).strip("-")
    return prefix or DEFAULT_PREFIX


def run_digest(props: Mapping[str, Any]) -> str:
    """sha256 hex of the run-defining properties (see :data:`RUN_DEFINING_PROPERTIES`)."""
    defining = {key: str(props.get(key) or "") for key in RUN_DEFINING_PROPERTIES}
    defining["HyperParameters"] = _canonical_hyperparameters(props.get("HyperParameters"))
    blob = json.dumps(defining, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def job_name_for(props: Mapping[str, Any]) -> JobNames:
    """The job name, custom model name and client request token for the run ``props`` define.

    ``props`` are the custom resource's ResourceProperties (strings). Pure: no clock, no randomness.
    """
    digest = run_digest(props)
    run_hash = digest[:HASH_CHARS]
    prefix = _prefix(props)
    return JobNames(
        run_hash=run_hash,
        job_name=f"{prefix}-{run_hash}",
        custom_model_name=f"{prefix}-model-{run_hash}",
        client_request_token=f"{prefix}-{digest}",
    )
