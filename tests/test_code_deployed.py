"""The deployed path end to end: the reward handler with the shipped code spec and CODE_RUNNER_FUNCTION
set sends every program to the runner Lambda (the real `code_runner` behind the Invoke emulator), and a
program that breaks the runner scores like a wrong answer while its batch-mates keep their verdicts.

Runs once the code grader, its spec and data, and the runner package are in the tree.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lambda_emulator import (
    FakeLambda,
    Reply,
    function_error,
    runner_handler,
    running_lambda,
)

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "reward_specs" / "code.toml"
TRAIN = ROOT / "data" / "code" / "train.jsonl"
RUNNER = "arn:aws:lambda:us-east-1:123456789012:function:nova-rft-reward-CodeRunner-AbC:5"
CRASH_MARKER = "# breaks the runner"


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLambda]:
    """The reward Lambda's environment as the stack sets it, with the runner behind the emulator."""
    with running_lambda() as server:

        def behaviour(event: Any) -> Reply:
            # The real runner survives hostile programs; a crash of the whole invocation is scripted.
            if any(CRASH_MARKER in job["program"] for job in event["jobs"]):
                return function_error("Runtime.ExitError", "Runtime exited with error: signal: killed")
            return runner_handler(event)

        server.behaviour = behaviour
        monkeypatch.setenv("CODE_RUNNER_FUNCTION", RUNNER)
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        monkeypatch.setenv("AWS_REGION", "us-east-1")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        yield server


def element(i: int, row: dict[str, Any], response: str) -> dict[str, Any]:
    return {
        "id": f"id-{i}",
        "messages": [*row["messages"], {"role": "assistant", "content": response}],
        "reference_answer": row["reference_answer"],
    }


def fenced(program: str) -> str:
    return f"Here is my solution.\n\n```python\n{program}\n```\n"


def test_programs_run_in_the_runner_lambda_and_a_crasher_scores_like_a_wrong_answer(
    deployed: FakeLambda,
) -> None:
    from reward.grading import grade_event
    from reward.spec import load_spec

    rows = [json.loads(line) for line in TRAIN.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r["reference_answer"].get("solution")][:4]
    solution = [r["reference_answer"]["solution"] for r in rows]
    event = [
        element(0, rows[0], fenced(solution[0])),
        element(1, rows[1], fenced("print('all tests passed')")),
        element(2, rows[2], fenced(solution[2] + "\n" + CRASH_MARKER)),
        element(3, rows[3], fenced(solution[3])),
    ]
    reply = grade_event(load_spec(SPEC), event)  # what the handler does with the bundled spec
    scores = {item["id"]: item["aggregate_reward_score"] for item in reply}
    assert scores["id-0"] > scores["id-1"] and scores["id-3"] > scores["id-1"]
    # Breaking the runner is the response's failure: scored exactly like the wrong answer (a status
    # "error" would leave the dimension out of the aggregate and pay better).
    assert scores["id-2"] == scores["id-1"] == min(scores.values()) < scores["id-0"]
    crasher = {m["name"]: m["value"] for m in reply[2]["metrics_list"]}
    assert crasher["correctness.tests_passed"] == 0
    # Every program went to the runner Lambda, through its version ARN.
    sent = [job["program"] for r in deployed.requests for job in r["event"]["jobs"]]
    assert any(solution[0] in p for p in sent) and any(CRASH_MARKER in p for p in sent)
    assert {r["function"] for r in deployed.requests} == {RUNNER}
