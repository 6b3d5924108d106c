"""Datasets with a known answer per prompt and policy models that answer them correctly with a known
probability, for the `rft baseline` / `rft eval` tests and the sampling benchmark.

Each prompt asks for a sum; the policy's right answer ends with the sum, its wrong answer with the sum
plus one. Under reward_specs/gsm8k.toml a right answer scores +1 and a wrong one -1 (the format and
conciseness dimensions are gated on correctness), so the implied numbers follow from the probabilities:
mean reward = mean(2p - 1); a prompt carries signal with probability 1 - p^K - (1 - p)^K, is always solved
with p^K and never solved with (1 - p)^K.
"""

from __future__ import annotations

import io
import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.bedrock_emulator import Policy

ROOT = Path(__file__).resolve().parents[1]
GSM8K = str(ROOT / "reward_specs" / "gsm8k.toml")
BASE_ID = "us.amazon.nova-2-lite-v1:0"
DEPLOYMENT_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abcd1234efgh"


@dataclass(frozen=True)
class Task:
    path: Path
    prompts: list[str]  # the user turn of each row, in order
    right: dict[str, str]
    wrong: dict[str, str]

    def policy(self, probabilities: Sequence[float], seed: int = 0) -> Policy:
        return Policy(dict(zip(self.prompts, probabilities)), self.right, self.wrong, seed=seed)


def write_task(directory: Path, n: int, *, seed: int = 1, name: str = "data.jsonl") -> Task:
    rng = random.Random(seed)
    rows, prompts, right, wrong = [], [], {}, {}
    for i in range(n):
        a, b = rng.randint(2, 500), rng.randint(2, 500)
        user = f"Problem {i}: what is {a} + {b}? Give the final answer on the last line as: #### <answer>"
        rows.append(
            {
                "messages": [
                    {"role": "system", "content": "You are a careful math tutor."},
                    {"role": "user", "content": user},
                ],
                "reference_answer": {"final_answer": str(a + b)},
                "task_id": f"sum-{i:04d}",
            }
        )
        prompts.append(user)
        right[user] = f"Adding {a} and {b} gives {a + b}.\n#### {a + b}"
        wrong[user] = f"Adding {a} and {b} gives {a + b + 1}.\n#### {a + b + 1}"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return Task(path, prompts, right, wrong)


def implied(probabilities: Sequence[float], k: int) -> dict[str, float]:
    """The numbers a report should show for these per-prompt probabilities, and their standard errors."""
    n = len(probabilities)
    signal = [1 - p**k - (1 - p) ** k for p in probabilities]
    solved = [p**k for p in probabilities]
    unsolved = [(1 - p) ** k for p in probabilities]

    def se(qs: Sequence[float]) -> float:  # of the share of n independent Bernoulli(q_i) prompts
        return math.sqrt(sum(q * (1 - q) for q in qs)) / n

    return {
        "mean_reward": sum(2 * p - 1 for p in probabilities) / n,
        # each sample's reward is +-1: variance 4p(1-p); n*k samples
        "mean_reward_se": math.sqrt(sum(4 * p * (1 - p) for p in probabilities) / k) / n,
        "signal_share": sum(signal) / n,
        "signal_share_se": se(signal),
        "solved_share": sum(solved) / n,
        "solved_share_se": se(solved),
        "unsolved_share": sum(unsolved) / n,
        "unsolved_share_se": se(unsolved),
    }


def run_cli(argv: Sequence[str], **kwargs: object) -> tuple[int, str, str]:
    """``rft`` in-process: (exit code, stdout, stderr); retries sleep for nothing."""
    from rft.cli import main

    out, err = io.StringIO(), io.StringIO()
    kwargs.setdefault("sleep", lambda _s: None)
    code = main(list(argv), out=out, err=err, **kwargs)  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()
