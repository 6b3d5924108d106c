"""``python -m rft.demo``: run the reward locally over a dataset's reference answers and known-bad answers.

For every row it grades the positive control (the reference answer written as a response with the spec's
``control_template``) and the negative controls (empty, master key, wrong number, hedged "17 or 18", ...),
through the very ``lambda_handler`` the Lambda runs, and prints a per-group summary. Exit status 1 when
some row's reference answer does not outscore all of its known-bad answers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

BATCH = 256


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rft.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="reward_specs/gsm8k.toml", help="reward spec (TOML)")
    parser.add_argument("--data", default="data/sample/train.jsonl", help="dataset (Nova RFT JSONL)")
    args = parser.parse_args(argv)

    os.environ["REWARD_SPEC"] = str(Path(args.spec))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from reward.controls import negative_controls, positive_control
    from reward.dataset import iter_rows
    from reward.handler import current_spec, lambda_handler
    from reward.spec import SpecError

    try:
        spec = current_spec()
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not Path(args.data).is_file():
        print(f"error: {args.data}: no such dataset file", file=sys.stderr)
        return 2

    event: list[dict] = []
    for line, row in iter_rows(args.data):
        reference = row.get("reference_answer")
        metadata = {k: v for k, v in row.items() if k != "messages"}
        answers = {"reference": positive_control(spec.control_template, reference)}
        answers.update(negative_controls(spec.control_template, reference))
        for group, text in answers.items():
            event.append(
                {
                    "id": f"{line}:{group}",
                    "messages": [*row["messages"], {"role": "assistant", "content": text}],
                    "metadata": metadata,
                }
            )

    started = time.perf_counter()
    reply = []
    for i in range(0, len(event), BATCH):
        reply += lambda_handler(event[i : i + BATCH], None)
    elapsed = time.perf_counter() - started

    scores: dict[str, list[float]] = defaultdict(list)
    by_row: dict[str, dict[str, float]] = defaultdict(dict)
    for element in reply:
        line, group = element["id"].split(":", 1)
        scores[group].append(element["aggregate_reward_score"])
        by_row[line][group] = element["aggregate_reward_score"]

    print(
        f"\nspec {spec.name} ({args.spec}) on {args.data}: {len(by_row)} rows, {len(event)} responses graded "
        f"in {elapsed:.2f} s\n"
    )
    print(f"{'group':<16} {'n':>5} {'mean':>7} {'min':>7} {'max':>7} {'at floor':>9}")
    for group, values in scores.items():
        at_floor = sum(v <= -1.0 for v in values) / len(values)
        print(
            f"{group:<16} {len(values):>5} {statistics.fmean(values):>7.3f} {min(values):>7.3f} "
            f"{max(values):>7.3f} {at_floor:>8.0%}"
        )
    losing = [
        line
        for line, groups in by_row.items()
        if any(score >= groups["reference"] for g, score in groups.items() if g != "reference")
    ]
    if losing:
        print(
            f"\nFAIL: on {len(losing)} rows a known-bad answer scores at or above the reference answer "
            f"(first lines: {', '.join(losing[:5])}). Fix the spec before training on it."
        )
        return 1
    print(f"\nOK: on all {len(by_row)} rows the reference answer outscores every known-bad answer.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
