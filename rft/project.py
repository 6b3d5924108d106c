"""The training run's settings as ``cdk.json`` declares them, for the commands that mirror the job
(``rft baseline``, ``rft eval``): ``base_model_id``, ``samples_per_prompt``, ``inference_max_tokens``,
``reasoning_effort``, ``region``, the datasets and the reward spec.

These are the defaults in ``cdk.json``'s ``context`` (read as JSON, without importing the CDK app):
``stacks/config.py`` remains the one reader and validator of context for synth; a value passed with
``-c key=value`` at deploy time is not visible here, so pass the matching flag (``--samples``, ...).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rft.errors import CliError

#: The repository root (holds the default cdk.json).
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def cdk_json() -> Path:
    """``./cdk.json`` when run from a project directory, else the kit's own."""
    local = Path.cwd() / "cdk.json"
    return local if local.is_file() else PROJECT_ROOT / "cdk.json"


def context_defaults() -> dict[str, Any]:
    """The ``context`` object of cdk.json (empty when there is none)."""
    path = cdk_json()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CliError(f"{path}: cannot read the training settings: {exc}") from None
    context = data.get("context") if isinstance(data, dict) else None
    return context if isinstance(context, dict) else {}


def resolve_path(value: str) -> str:
    """A dataset or spec path from cdk.json, relative to the file that names it."""
    path = Path(value)
    return str(path if path.is_absolute() or path.exists() else cdk_json().parent / path)
