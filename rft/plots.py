"""PNG figures for ``rft score`` and ``rft probe``. matplotlib is imported here only, lazily, with the
non-interactive Agg backend, so the other commands start fast and nothing needs a display."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

_BINS = [i / 10 for i in range(-10, 11)]  # 20 bins of 0.1 over the reward range [-1, 1]


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _finish_grid(plt: Any, fig: Any, axes: Any, used: int, title: str, path: Path) -> Path:
    """Blank the grid's unused panels, title it, save it to ``path`` and free the figure."""
    for ax in list(axes.flat)[used:]:
        ax.axis("off")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def score_histograms(path: Path, series: Mapping[str, Sequence[float]], *, title: str) -> Path:
    """One histogram per series (each dimension, then the aggregate) on a shared [-1, 1] axis."""
    plt = pyplot()
    names = list(series)
    columns = min(3, len(names))
    rows = -(-len(names) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.0 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        values = list(series[name])
        ax.hist(values, bins=_BINS, color="#4C72B0" if name != "aggregate" else "#DD8452", edgecolor="white")
        mean = sum(values) / len(values) if values else 0.0
        ax.set_title(f"{name}  (n={len(values)}, mean={mean:+.2f})", fontsize=10)
        ax.set_xlim(-1.05, 1.05)
        ax.set_xlabel("reward")
        ax.set_ylabel("samples")
    return _finish_grid(plt, fig, axes, len(names), title, path)


def probe_distributions(
    path: Path,
    control: Sequence[float],
    attacks: Mapping[str, Sequence[float]],
    *,
    failing: Sequence[str] = (),
    title: str,
) -> Path:
    """Control vs each attack family: a strip of every row's score (jittered), the family's mean, and
    the control's median as a reference line. Families that beat the control are drawn in red."""
    import random

    plt = pyplot()
    names = ["positive control", *attacks]
    values = [list(control), *(list(attacks[name]) for name in attacks)]
    fig, ax = plt.subplots(figsize=(max(7.0, 0.62 * len(names) + 3.5), 4.6))
    jitter = random.Random(0)  # the same picture on every run
    for x, (name, scores) in enumerate(zip(names, values)):
        if not scores:
            continue
        color = "#2CA02C" if x == 0 else ("#D62728" if name in failing else "#4C72B0")
        xs = [x + jitter.uniform(-0.28, 0.28) for _ in scores]
        ax.scatter(xs, scores, s=9, alpha=0.35, color=color, linewidths=0)
        mean = sum(scores) / len(scores)
        ax.plot([x - 0.35, x + 0.35], [mean, mean], color="black", linewidth=1.6)
    if control:
        ordered = sorted(control)
        ax.axhline(
            ordered[len(ordered) // 2], color="#2CA02C", linestyle="--", linewidth=1, label="control median"
        )
        ax.scatter([], [], color="#D62728", s=12, label="family wins (at or above the control)")
        ax.scatter([], [], color="#4C72B0", s=12, label="family loses")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=40, ha="right", fontsize=9)
    ax.set_ylim(-1.1, 1.1)
    ax.set_ylabel("aggregate reward (best variant per row)")
    ax.set_title(title, fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _unchanged(path: Path, *inputs: Any) -> bool:
    """True when ``path`` was drawn from exactly these inputs (a ``.sha256`` sidecar says so); else record
    them. A cached rerun of ``rft baseline``/``rft eval`` then skips matplotlib (about a second)."""
    import hashlib
    import json

    digest = hashlib.sha256(json.dumps(inputs, default=str).encode()).hexdigest()
    sidecar = path.with_name(path.name + ".sha256")
    if path.is_file() and sidecar.is_file() and sidecar.read_text().strip() == digest:
        return True
    sidecar.unlink(missing_ok=True)  # written again only after the PNG is
    return False


def _mark_drawn(path: Path, *inputs: Any) -> None:
    import hashlib
    import json

    digest = hashlib.sha256(json.dumps(inputs, default=str).encode()).hexdigest()
    path.with_name(path.name + ".sha256").write_text(digest + "\n")


def baseline_distributions(
    path: Path, prompt_means: Sequence[float], spreads: Sequence[float], *, title: str
) -> Path:
    """``rft baseline``: per-prompt mean reward, and within-prompt spread (max - min of the K rewards;
    0 means the prompt's samples all got the same reward and teach RFT nothing)."""
    inputs = ("baseline", list(prompt_means), list(spreads), title)
    if _unchanged(path, *inputs):
        return path
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.0, 3.8))
    left.hist(list(prompt_means), bins=_BINS, color="#4C72B0", edgecolor="white")
    left.set_xlim(-1.05, 1.05)
    left.set_xlabel("mean reward of the prompt's samples")
    left.set_ylabel("prompts")
    left.set_title(f"per-prompt mean reward (n={len(prompt_means)})", fontsize=10)
    right.hist(list(spreads), bins=[i / 10 for i in range(0, 21)], color="#DD8452", edgecolor="white")
    right.set_xlim(-0.05, 2.05)
    right.set_xlabel("max - min reward within the prompt (0 = no learning signal)")
    right.set_ylabel("prompts")
    flat = sum(1 for s in spreads if s <= 1e-9)
    right.set_title(f"within-prompt spread ({flat} of {len(spreads)} prompts flat)", fontsize=10)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    _mark_drawn(path, *inputs)
    return path


def eval_comparison(
    path: Path,
    base: Sequence[float],
    tuned: Sequence[float],
    dimension_deltas: Mapping[str, float],
    *,
    title: str,
) -> Path:
    """``rft eval``: the two models' per-prompt mean rewards overlaid, and the per-dimension deltas."""
    inputs = ("eval", list(base), list(tuned), dict(dimension_deltas), title)
    if _unchanged(path, *inputs):
        return path
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.5, 3.9))
    left.hist(list(base), bins=_BINS, color="#4C72B0", alpha=0.6, label="base", edgecolor="white")
    left.hist(list(tuned), bins=_BINS, color="#DD8452", alpha=0.6, label="tuned", edgecolor="white")
    left.set_xlim(-1.05, 1.05)
    left.set_xlabel("per-prompt mean reward")
    left.set_ylabel("prompts")
    left.legend(fontsize=8, frameon=False)
    left.set_title("reward distributions", fontsize=10)
    names = list(dimension_deltas)
    values = [dimension_deltas[n] for n in names]
    colors = ["#2CA02C" if v >= 0 else "#D62728" for v in values]
    right.barh(names, values, color=colors)
    right.axvline(0, color="black", linewidth=0.8)
    right.set_xlabel("tuned - base (mean reward)")
    right.set_title("per-dimension delta", fontsize=10)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    _mark_drawn(path, *inputs)
    return path


def confusion_matrices(
    path: Path, matrices: Mapping[str, tuple[Sequence[str], Sequence[Sequence[int]]]], *, title: str
) -> Path:
    """One heat map per (judge, dimension): rows the human's label, columns the judge's, each cell its count
    (``rft judge-check``). A good judge puts its mass on the diagonal."""
    plt = pyplot()
    names = list(matrices)
    columns = min(2, len(names))
    rows = -(-len(names) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 4.4 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        scale, counts = matrices[name]
        ax.imshow(counts, cmap="Blues")
        ax.set_xticks(range(len(scale)), scale, rotation=30, ha="right", fontsize=8)
        ax.set_yticks(range(len(scale)), scale, fontsize=8)
        ax.set_xlabel("judge")
        ax.set_ylabel("human")
        ax.set_title(name, fontsize=10)
        peak = max((max(r) for r in counts), default=0)
        for i, row in enumerate(counts):
            for j, value in enumerate(row):
                color = "white" if peak and value > peak / 2 else "black"
                ax.text(j, i, str(value), ha="center", va="center", fontsize=8, color=color)
    return _finish_grid(plt, fig, axes, len(names), title, path)
