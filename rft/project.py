"""The training run's settings as ``cdk.json`` declares them, for the commands that mirror the job (``rft
baseline``, ``rft eval``, ``rft judge-check``): the base model, region, samples per prompt, inference
settings, datasets, reward spec and judge model.

Each value is parsed by its key's own parser from ``stacks/context_schema.py``, the table ``cdk synth``
reads context with, so a value synth would reject is rejected here with what is allowed; a key cdk.json
does not set takes the schema's default. A value passed with ``-c key=value`` at deploy time is not visible
here: pass the matching flag (``--samples``, ...).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from rft.errors import CliError
from stacks.context_schema import CONTEXT_KEYS, Invalid
from stacks.paths import CDK_JSON, cdk_json_context

#: The keys the commands that mirror the job read, parsed.
SETTINGS = (
    "base_model_id",
    "region",
    "samples_per_prompt",
    "inference_max_tokens",
    "reasoning_effort",
    "judge_model_id",
)
#: File keys, kept as written (a path relative to the cdk.json that names it; see ``resolve_path``): a
#: command checks the file only when it uses it.
FILES = ("training_data", "validation_data", "reward_spec")


def cdk_json() -> Path:
    """``./cdk.json`` when run from a project directory, else the kit's own."""
    local = Path.cwd() / "cdk.json"
    return local if local.is_file() else CDK_JSON


class TrainingSettings(Mapping[str, Any]):
    """``SETTINGS`` (parsed) and ``FILES`` (as written) of one cdk.json. A value is parsed when a command
    reads it, so a bad value in cdk.json stops only the commands that use it (not one whose flag overrides
    it), with a ``CliError`` naming the file, the key and what is allowed."""

    def __init__(self, path: Path, context: Mapping[str, Any]) -> None:
        self.path = path
        self._context = dict(context)

    def __getitem__(self, key: str) -> Any:
        if key not in SETTINGS and key not in FILES:
            raise KeyError(key)
        raw = self._context.get(key, CONTEXT_KEYS[key].default)
        if key in FILES:
            return raw
        try:
            return CONTEXT_KEYS[key].parse(raw)
        except Invalid as invalid:
            raise CliError(
                f"{self.path}: context value {key!r} is {json.dumps(raw)}; allowed: {invalid.allowed} "
                f"(e.g. {CONTEXT_KEYS[key].example})"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter((*SETTINGS, *FILES))

    def __len__(self) -> int:
        return len(SETTINGS) + len(FILES)


def context_defaults() -> TrainingSettings:
    """The training settings of ``cdk_json()`` (a key it does not set takes the schema's default); a
    ``CliError`` naming the file when it cannot be read as JSON."""
    path = cdk_json()
    try:
        context = cdk_json_context(path) if path.is_file() else {}
    except (OSError, ValueError) as exc:
        raise CliError(f"{path}: cannot read the training settings: {exc}") from None
    return TrainingSettings(path, context)


def resolve_path(value: str) -> str:
    """A dataset or spec path from cdk.json, relative to the file that names it."""
    path = Path(value)
    return str(path if path.is_absolute() or path.exists() else cdk_json().parent / path)
