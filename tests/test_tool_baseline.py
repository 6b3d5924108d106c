"""`rft baseline` with tools: each record's tools reach Converse as `toolConfig`, the returned `toolUse`
blocks are graded as the reward Lambda grades them in training, and the pass rate is the one the emulated
policy's probabilities imply (within 3 standard errors; the emulator's streams are seeded, so no flake)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from botocore.session import get_session
from botocore.validate import ParamValidator

from rft import attacks_tools, sampling
from rft.batch_inference import check_request, parse_output_line
from rft.rows import Row
from rft.sampling import InferenceSettings
from tests.bedrock_emulator import Policy, Script, bedrock_emulator
from tests.policy_runs import BASE_ID, run_cli

ROOT = Path(__file__).resolve().parents[1]
SPEC = str(ROOT / "reward_specs/tool_calling.toml")
DATA = ROOT / "data/tool_calling/train.jsonl"
ROWS = 60
K = 4
PROBABILITIES = (0.0, 0.25, 0.5, 0.75, 1.0)


def tool_uses(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"toolUse": {"toolUseId": f"t{i}", "name": c["name"], "input": c["arguments"]}}
        for i, c in enumerate(calls)
    ]


def tool_task(tmp: Path) -> tuple[Path, Policy, list[float]]:
    """The first ROWS rows of the shipped data; the policy answers right (the expected calls as toolUse
    blocks, or text for a no-call row) with a known probability, else with the honest wrong call."""
    rows = [json.loads(x) for x in DATA.read_text(encoding="utf-8").splitlines()[:ROWS]]
    right, wrong, p = {}, {}, {}
    for i, row in enumerate(rows):
        prompt = row["messages"][-1]["content"]
        calls = row["reference_answer"]["tool_calls"]
        built = {family: response for family, _, response in attacks_tools.build(row)[0]}
        right[prompt] = tool_uses(calls) if calls else "No tool can do that, sorry."
        wrong[prompt] = tool_uses(json.loads(built["honest_wrong" if calls else "call_when_none"]))
        p[prompt] = PROBABILITIES[i % len(PROBABILITIES)]
    path = tmp / "tools.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path, Policy(p, right, wrong, seed=3), [PROBABILITIES[i % len(PROBABILITIES)] for i in range(ROWS)]


@pytest.fixture(scope="module")
def tool_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tool-baseline")
    path, policy, probabilities = tool_task(tmp)
    argv = ["baseline", "--data", str(path), "--spec", SPEC, "--out", str(tmp / "out"), "--samples", str(K)]
    with bedrock_emulator(Script(policies={BASE_ID: policy})) as emu:
        code, out, err = run_cli([*argv, "--yes", "--json"])
        bodies = [r.body for r in emu.requests]
        answered = len(emu.answered("ok"))
    return {"code": code, "report": json.loads(out) if code == 0 else err, "bodies": bodies,
            "answered": answered, "probabilities": probabilities}  # fmt: skip


def test_baseline_reports_the_policys_pass_rate(tool_run):
    assert tool_run["code"] == 0, tool_run["report"]
    assert tool_run["answered"] == ROWS * K  # every request carried its tools (else: ValidationException)
    p = tool_run["probabilities"]
    expected = sum(p) / len(p)
    se = math.sqrt(sum(q * (1 - q) for q in p) / K) / len(p)
    assert abs(tool_run["report"]["pass_rate"] - expected) <= 3 * se + 1e-9, (
        tool_run["report"]["pass_rate"],
        expected,
    )


def test_every_request_sends_the_rows_tools_as_a_valid_tool_config(tool_run):
    shape = get_session().get_service_model("bedrock-runtime").operation_model("Converse").input_shape
    row = json.loads(DATA.read_text(encoding="utf-8").splitlines()[0])
    names = [t["function"]["name"] for t in row["tools"]]
    for body in tool_run["bodies"][:5]:
        assert [t["toolSpec"]["name"] for t in body["toolConfig"]["tools"]] == names
        assert (
            body["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]
            == row["tools"][0]["function"]["parameters"]
        )
    (request,) = sampling.build_requests([Row(1, row)], BASE_ID, InferenceSettings(100), 1)
    report = ParamValidator().validate(request.converse_request(), shape)
    assert not report.has_errors(), report.generate_report()


def test_the_cache_key_includes_the_tools():
    row = json.loads(DATA.read_text(encoding="utf-8").splitlines()[0])
    other = {**row, "tools": row["tools"][:-1]}
    bare = {k: v for k, v in row.items() if k != "tools"}
    keys = {
        sampling.build_requests([Row(1, r)], BASE_ID, InferenceSettings(100), 1)[0].key
        for r in (row, other, bare)
    }
    assert len(keys) == 3


def test_batch_records_carry_the_tool_config_and_tool_use_outputs_are_read():
    row = json.loads(DATA.read_text(encoding="utf-8").splitlines()[0])
    (request,) = sampling.build_requests([Row(1, row)], BASE_ID, InferenceSettings(100), 1)
    body = dict(request.converse_request())
    body.pop("modelId")
    check_request("r1", body)  # the batch record's modelInput, validated against botocore's model
    assert "toolConfig" in body
    uses = tool_uses(row["reference_answer"]["tool_calls"])
    line = json.dumps({"recordId": "r1", "modelInput": body, "modelOutput": {
        "output": {"message": {"role": "assistant", "content": uses}}, "stopReason": "tool_use",
        "usage": {"inputTokens": 10, "outputTokens": 5}}})  # fmt: skip
    result = parse_output_line(line)
    assert result is not None and result.ok and list(result.tool_uses) == uses
    response = sampling.SampleResponse("k", text=result.text or "", tool_uses=result.tool_uses)
    assert response.message() == {"role": "assistant", "content": uses}


def test_cached_tool_responses_survive_a_restart(tmp_path):
    cache = sampling.ResponseCache(tmp_path)
    uses = tuple(tool_uses([{"name": "get_weather", "arguments": {"city": "Oslo"}}]))
    cache.put(sampling.SampleResponse("k", text="", tool_uses=uses))
    cache.close()
    assert sampling.ResponseCache(tmp_path).get("k").tool_uses == uses
