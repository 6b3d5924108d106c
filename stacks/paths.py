"""Where the project's files are, and the one reader of ``cdk.json`` (no CDK import: ``rft`` uses it too)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: The project root (holds cdk.json); relative paths in context are resolved against it.
PROJECT_ROOT = Path(__file__).resolve().parents[1]
#: Where the Lambda sources live (the reward library, the job starter, the code runner).
LAMBDA_SRC = PROJECT_ROOT / "lambda_src"
#: The kit's own cdk.json.
CDK_JSON = PROJECT_ROOT / "cdk.json"


def cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The ``context`` object of a cdk.json (the feature flags and the typed default of every key); empty
    when the file has none. ``OSError``/``ValueError`` when it cannot be read as JSON."""
    data = json.loads(path.read_text(encoding="utf-8"))
    context = data.get("context") if isinstance(data, dict) else None
    return dict(context) if isinstance(context, dict) else {}
