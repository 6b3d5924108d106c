"""Read and check the CloudWatch Embedded Metric Format (EMF) documents the reward handler printed.

    docs = emf_documents(captured_stdout)        # every EMF line, parsed
    validate_emf(docs)                           # AWS's EMF schema (tests/fixtures/emf_schema.json) + targets
    emitted_metric_names(captured_stdout)        # {"Reward", "Reward.correctness", "Status.ok", ...}

Shared by tests/test_telemetry.py and the dashboard cross-check (the dashboard must chart exactly the
names the Lambda emits).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).parent / "fixtures" / "emf_schema.json"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (EMF values must be finite numbers)")


def emf_documents(stdout: str) -> list[dict[str, Any]]:
    """Every line of ``stdout`` that is an EMF document (a JSON object with an ``_aws`` member), parsed.

    NaN / Infinity in a line raise ``ValueError``: CloudWatch rejects them.
    """
    documents = []
    for line in stdout.splitlines():
        line = line.strip()
        if not (line.startswith("{") and '"_aws"' in line):
            continue
        document = json.loads(line, parse_constant=_reject_constant)
        if isinstance(document, dict) and "_aws" in document:
            documents.append(document)
    return documents


def metric_definitions(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The MetricDefinition objects of every directive of a document."""
    return [m for directive in document["_aws"]["CloudWatchMetrics"] for m in directive["Metrics"]]


def emitted_metric_names(stdout: str | list[dict[str, Any]]) -> set[str]:
    """The metric names in the EMF documents of ``stdout`` (or of already parsed documents)."""
    documents = emf_documents(stdout) if isinstance(stdout, str) else stdout
    return {m["Name"] for document in documents for m in metric_definitions(document)}


def metric_values(documents: list[dict[str, Any]], name: str) -> list[float]:
    """Every value of metric ``name``, in document order (a scalar target counts as one value)."""
    values: list[float] = []
    for document in documents:
        if any(m["Name"] == name for m in metric_definitions(document)):
            target = document[name]
            values += target if isinstance(target, list) else [target]
    return values


@lru_cache(maxsize=1)
def emf_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


def validate_emf(documents: list[dict[str, Any]]) -> None:
    """Raise ``jsonschema.ValidationError`` unless every document is valid EMF.

    The fixture schema checks the structure; the target members a document names (its metrics and its
    dimensions) are added to ``required`` per document, each checked against the schema's target
    definition (a metric: a number or at most 100 numbers; a dimension: a string).
    """
    import jsonschema

    base = emf_schema()
    for document in documents:
        targets: dict[str, Any] = {}
        for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
            for dimension_set in directive.get("Dimensions", []):
                for key in dimension_set:
                    targets[key] = {"$ref": "#/$defs/dimensionTarget"}
            for definition in directive.get("Metrics", []):
                targets[definition.get("Name")] = {"$ref": "#/$defs/metricTarget"}
        schema = {
            **base,
            "required": [*base["required"], *targets],
            "properties": {**base["properties"], **targets},
        }
        jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
