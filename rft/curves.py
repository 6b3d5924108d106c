"""Training curves of a finished (or running) RFT job: ``rft report``.

AWS documents, for model customization jobs in general (Bedrock user guide "Analyze the results of a model
customization job"), this layout under the job's output S3 URI::

    model-customization-job-<job id>/training_artifacts/step_wise_training_metrics.csv
    model-customization-job-<job id>/validation_artifacts/post_fine_tuning_validation/validation_metrics.csv

with the columns ``step_number, epoch_number, training_loss, perplexity`` (SFT). For RFT, AWS documents
reward metrics in the console (``critic/rewards/mean|max|min``, ``val-score/rewards/mean@1``; "Monitor
your RFT training job") but **not** the files they are written to. So this module does not hard-code a
path: it lists the job's output prefix, reads every CSV / JSON / JSON-lines file that looks like metrics,
and recognizes reward series by name in either layout:

* wide CSV: a step column (``step``, ``step_number``, ``global_step``, ...) and one column per metric;
* long CSV: a step column plus ``metric``/``name``/``key`` and ``value`` columns;
* JSON lines: one object per step (``{"step": 3, "critic/rewards/mean": 0.4, ...}``, or with the metrics
  nested under ``data``/``metrics``);
* JSON: a list of such objects, or ``{metric: [values ...]}``.

When nothing is found it says where it looked; nothing is guessed.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rft.aws import aws_call, list_objects, split_s3_uri

#: Files larger than this are not metrics (checkpoints, datasets): skipped.
MAX_METRICS_BYTES = 50 * 1024 * 1024
#: Listing stops after this many keys (an output prefix shared by many jobs can be large).
MAX_KEYS = 20_000
METRIC_SUFFIXES = (".csv", ".json", ".jsonl")
STEP_COLUMNS = ("step", "step_number", "global_step", "training_step", "train_step", "iteration", "steps")
REPORT_PERMISSIONS = (
    "bedrock:GetModelCustomizationJob",
    "s3:ListBucket and s3:GetObject on the job's output prefix",
    "kms:Decrypt on the data key (encryption=kms)",
    "cloudformation:DescribeStacks (with --stack)",
)

Series = dict[str, dict[float, float]]  # metric name -> step -> value


@dataclass
class MetricFile:
    """One metrics file read from S3: its URI and the series in it."""

    uri: str
    series: Series = field(default_factory=dict)
    problem: str = ""


@dataclass(frozen=True)
class Curves:
    """The reward curves found: each a sorted list of (step, value); empty when not found."""

    train_mean: list[tuple[float, float]]
    train_min: list[tuple[float, float]]
    train_max: list[tuple[float, float]]
    validation: list[tuple[float, float]]
    names: Mapping[str, str]  # role ("train_mean", ...) -> the metric name it came from
    others: Mapping[str, list[tuple[float, float]]]  # every other numeric series, by name

    @property
    def found(self) -> bool:
        return bool(self.train_mean or self.validation)


# --------------------------------------------------------------------------------------------------
# Parsing (pure: bytes in, series out).


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _step_key(keys: Iterable[str]) -> str | None:
    lowered = {k.strip().lower(): k for k in keys}
    for name in STEP_COLUMNS:
        if name in lowered:
            return lowered[name]
    return None


def _add_row(series: Series, row: Mapping[str, Any], step_key: str, fallback_step: int) -> None:
    step = _number(row.get(step_key))
    step = float(fallback_step) if step is None else step
    for key, value in row.items():
        if key == step_key:
            continue
        number = _number(value)
        if number is not None:
            series.setdefault(str(key).strip(), {})[step] = number


def parse_csv(text: str) -> Series:
    """Series of a wide or long metrics CSV (see the module docstring); empty when it has no step column."""
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        return {}
    fields = [f for f in reader.fieldnames if f is not None]
    step_key = _step_key(fields)
    if step_key is None:
        return {}
    lowered = {f.strip().lower(): f for f in fields}
    name_key = next(
        (lowered[k] for k in ("metric", "metric_name", "name", "key", "tag") if k in lowered), None
    )
    value_key = next((lowered[k] for k in ("value", "metric_value", "val") if k in lowered), None)
    series: Series = {}
    for index, row in enumerate(reader):
        if name_key and value_key:  # long format: one metric per row
            step = _number(row.get(step_key))
            number = _number(row.get(value_key))
            if number is not None and row.get(name_key):
                series.setdefault(str(row[name_key]).strip(), {})[index if step is None else step] = number
        else:
            _add_row(series, row, step_key, index)
    return series


def _records(value: Any) -> Iterator[Mapping[str, Any]]:
    """Flatten one JSON record: metrics may sit at the top level or under ``data``/``metrics``."""
    if not isinstance(value, Mapping):
        return
    nested = {}
    for key in ("data", "metrics", "scalars"):
        if isinstance(value.get(key), Mapping):
            nested.update(value[key])
    yield {**{k: v for k, v in value.items() if not isinstance(v, Mapping)}, **nested}


def parse_json(text: str) -> Series:
    """Series of a JSON or JSON-lines metrics file; empty when it has no recognizable steps."""
    stripped = text.strip()
    documents: list[Any] = []
    try:
        documents = [json.loads(stripped)]
    except json.JSONDecodeError:
        for line in stripped.splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                documents.append(json.loads(line))
            except json.JSONDecodeError:
                return {}
    if len(documents) == 1 and isinstance(documents[0], list):
        documents = documents[0]
    series: Series = {}
    if len(documents) == 1 and isinstance(documents[0], Mapping):
        single = documents[0]
        lists = {
            k: v
            for k, v in single.items()
            if isinstance(v, list) and v and all(_number(x) is not None for x in v)
        }
        if lists:  # {metric: [v0, v1, ...]} or {"step": [...], metric: [...]}
            step_key = _step_key(lists)
            steps = [_number(s) for s in lists[step_key]] if step_key else None
            for key, values in lists.items():
                if key == step_key:
                    continue
                for index, value in enumerate(values):
                    step = (
                        steps[index] if steps and index < len(steps) and steps[index] is not None else index
                    )
                    series.setdefault(key, {})[float(step)] = float(_number(value))  # type: ignore[arg-type]
            return series
    for index, document in enumerate(documents):
        for record in _records(document):
            step_key = _step_key(record)
            if step_key is None:
                return {}
            _add_row(series, record, step_key, index)
    return series


def parse_metrics(key: str, body: bytes) -> Series:
    """Series in the metrics file ``key`` (by extension); empty for anything unreadable."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return {}
    return parse_csv(text) if key.lower().endswith(".csv") else parse_json(text)


# --------------------------------------------------------------------------------------------------
# Recognizing reward series by name.


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9@]+", "/", name.lower()).strip("/")


def _is_validation(name: str, uri: str) -> bool:
    """A validation metric: its name says so (``val-score/...``, ``validation_reward``, ``eval/...``), or it
    comes from a validation file and does not say ``train``."""
    n = _norm(name)
    if re.search(r"(^|/)(val|valid|validation|eval)(/|@|$)", n):
        return True
    return "validation" in uri.lower() and "train" not in n


def _has_word(normalized: str, *words: str) -> bool:
    return any(re.search(rf"(^|/){w}(/|@|$)", normalized) for w in words)


def _role(name: str, uri: str) -> str | None:
    """``train_mean``/``train_min``/``train_max``/``validation`` for a reward metric's name, else None."""
    n = _norm(name)
    if "reward" not in n and not _has_word(n, "score"):
        return None
    if _has_word(n, "std", "advantages", "returns", "margin", "latency", "count", "length"):
        return None
    if _is_validation(name, uri):
        return None if _has_word(n, "min", "max", "minimum", "maximum") else "validation"
    if _has_word(n, "max", "maximum"):
        return "train_max"
    if _has_word(n, "min", "minimum"):
        return "train_min"
    return "train_mean"


#: Preference among several candidates for the same role: the names AWS documents for RFT first.
_PREFERRED = ("critic/rewards/mean", "critic/rewards/max", "critic/rewards/min", "val-score/rewards/mean@1")


def _rank(name: str) -> tuple[int, int, str]:
    lowered = name.lower()
    return (0 if lowered in _PREFERRED else 1, 0 if "reward" in lowered else 1, lowered)


def find_curves(files: Sequence[MetricFile]) -> Curves:
    """Pick the reward curves out of every series in ``files`` (see ``_role``)."""
    candidates: dict[str, list[tuple[str, dict[float, float]]]] = {}
    others: dict[str, list[tuple[float, float]]] = {}
    for file in files:
        for name, points in file.series.items():
            role = _role(name, file.uri)
            if role is None:
                others.setdefault(name, sorted(points.items()))
            else:
                candidates.setdefault(role, []).append((name, points))
    chosen: dict[str, list[tuple[float, float]]] = {}
    names: dict[str, str] = {}
    for role, found in candidates.items():
        name, points = min(found, key=lambda item: _rank(item[0]))
        chosen[role], names[role] = sorted(points.items()), name
        for other_name, other_points in found:
            if other_name != name:
                others.setdefault(other_name, sorted(other_points.items()))
    return Curves(
        train_mean=chosen.get("train_mean", []),
        train_min=chosen.get("train_min", []),
        train_max=chosen.get("train_max", []),
        validation=chosen.get("validation", []),
        names=names,
        others=others,
    )


def warnings_for(curves: Curves) -> list[str]:
    """The warning signs AWS names for RFT (docs/contract.md §5), where the curves show them."""
    notes = []

    def trend(points: list[tuple[float, float]]) -> float | None:
        if len(points) < 4:
            return None
        half = len(points) // 2
        first = sum(v for _, v in points[:half]) / half
        last = sum(v for _, v in points[-half:]) / half
        return last - first

    train, val = trend(curves.train_mean), trend(curves.validation)
    if train is not None and val is not None and train > 0.02 and val < -0.02:
        notes.append(
            f"training reward rose ({train:+.3f}) while validation reward fell ({val:+.3f}): over-fitting or "
            "reward hacking; check the responses the tuned model writes (rft eval)"
        )
    if train is not None and abs(train) <= 0.02 and curves.train_mean:
        notes.append(
            f"training reward stayed flat ({train:+.3f} from the first half to the second): the group's "
            "rewards may not differ enough to learn from (rft baseline shows the learning signal)"
        )
    return notes


# --------------------------------------------------------------------------------------------------
# S3.


def job_id(job_arn: str) -> str:
    """The id Bedrock puts in the job's output folder name (the last part of the job ARN)."""
    return job_arn.rsplit("/", 1)[-1]


@dataclass
class Search:
    """What ``find_metric_files`` read and where it looked."""

    files: list[MetricFile] = field(default_factory=list)
    searched: list[str] = field(default_factory=list)  # the S3 prefixes listed, in order
    other_keys: list[str] = field(default_factory=list)  # objects seen that are not metrics files


def find_metric_files(s3: Any, output_uri: str, job_arn: str) -> Search:
    """Read the job's metrics files, looking in ``<output>/model-customization-job-<id>/`` first (AWS's
    documented folder) and, unless reward curves were found there, in the whole output prefix (keeping the
    files whose key names the job id when any do)."""
    bucket, prefix = split_s3_uri(output_uri)
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    ident = job_id(job_arn)
    search = Search()
    read: set[str] = set()
    for candidate in (f"{prefix}model-customization-job-{ident}/", prefix):
        search.searched.append(f"s3://{bucket}/{candidate}")
        listed = list_objects(s3, bucket, candidate, limit=MAX_KEYS, needs=REPORT_PERMISSIONS)
        metrics = [(k, size) for k, size in listed if k.lower().endswith(METRIC_SUFFIXES) and k not in read]
        if candidate == prefix:
            metrics = [(k, size) for k, size in metrics if ident in k] or metrics
        search.other_keys += [k for k, _ in listed if not k.lower().endswith(METRIC_SUFFIXES)]
        for key, size in metrics:
            read.add(key)
            search.files.append(_read_metric_file(s3, bucket, key, size))
        if find_curves(search.files).found:
            break
    search.other_keys = list(dict.fromkeys(search.other_keys))
    return search


def _read_metric_file(s3: Any, bucket: str, key: str, size: int) -> MetricFile:
    uri = f"s3://{bucket}/{key}"
    if size > MAX_METRICS_BYTES:
        return MetricFile(uri, problem=f"skipped: {size:,} bytes is too large for a metrics file")
    reply = aws_call(f"GetObject {uri}", s3.get_object, needs=REPORT_PERMISSIONS, Bucket=bucket, Key=key)
    series = parse_metrics(key, reply["Body"].read())
    return MetricFile(uri, series, "" if series else "no step-indexed numeric columns")


# --------------------------------------------------------------------------------------------------
# The figure.


def plot_curves(path: Path, curves: Curves, *, title: str) -> Path:
    """Reward over steps: training mean with its min–max band, validation reward as markers."""
    from rft.plots import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8.0, 4.6))
    if curves.train_min and curves.train_max:
        low, high = dict(curves.train_min), dict(curves.train_max)
        steps = sorted(set(low) & set(high))
        ax.fill_between(
            steps,
            [low[s] for s in steps],
            [high[s] for s in steps],
            color="#4C72B0",
            alpha=0.18,
            label=f"training min–max ({curves.names['train_min']}, {curves.names['train_max']})",
        )
    if curves.train_mean:
        ax.plot(
            [s for s, _ in curves.train_mean],
            [v for _, v in curves.train_mean],
            color="#4C72B0",
            linewidth=1.6,
            label=f"training mean ({curves.names['train_mean']})",
        )
    if curves.validation:
        ax.plot(
            [s for s, _ in curves.validation],
            [v for _, v in curves.validation],
            color="#DD8452",
            marker="o",
            linewidth=1.2,
            label=f"validation ({curves.names['validation']})",
        )
    ax.set_xlabel("training step")
    ax.set_ylabel("reward")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
