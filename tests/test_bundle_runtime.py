"""The shipped reward bundle, run the way Lambda runs it.

The bundle is built from exactly the inputs the reward stack bundles (`reward_bundle`), for the interpreter
and architecture running the tests (the deployed one is for the Lambda runtime's newer Python). It runs
under AWS's own runtime interface client (`awslambdaric`, the client inside the managed Python runtime)
in a separate process whose `sys.path` holds only the standard library, the task root and what the Lambda
runtime provides itself (the client, boto3/botocore): a module the bundle forgot fails here as it would
on Lambda. The client talks to a Runtime API server on 127.0.0.1 (`tests/lambda_runtime_api.py`).

What takes part: the handler string and `REWARD_SPEC` from the synthesized template, the spec path
resolved relative to `LAMBDA_TASK_ROOT`, init-time loading (a broken spec is an init error posted before
the first event is asked for), and the client's own JSON deserialization of the event and serialization
of the reply. What stays unverified here: the Lambda runtime's Python version (docs/development.md).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reward.controls import negative_controls, positive_control
from reward.spec import load_spec
from rft.rows import event_element, load_rows
from stacks.config import PROJECT_ROOT
from stacks.constructs.local_bundling import bundle_into, host_architecture
from stacks.reward_bundle import reward_bundle
from tests.conftest import SynthesizedApp
from tests.lambda_runtime_api import runtime_api

pytestmark = pytest.mark.slow

#: What the Lambda runtime itself puts on the path (the client and the AWS SDK), beside the task root.
RUNTIME_PROVIDED = (
    "awslambdaric",
    "runtime_client",
    "simplejson",
    "snapshot_restore_py",
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "dateutil",
    "urllib3",
    "six",
)
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:nova-rft-reward"


def runtime_dir(target: Path) -> Path:
    """A directory with links to the runtime-provided modules only (not the test venv's site-packages)."""
    target.mkdir()
    for name in RUNTIME_PROVIDED:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None, f"{name} is not installed (requirements-dev.txt)"
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (target / source.name).symlink_to(source)
    return target


def lambda_environment(task_root: Path, runtime: Path, variables: dict[str, str], api: str) -> dict[str, str]:
    """The variables Lambda sets for a function (developer guide, "Defined runtime environment variables")."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONPATH": str(runtime),
        "LAMBDA_TASK_ROOT": str(task_root),
        "LAMBDA_RUNTIME_DIR": str(runtime),
        "AWS_LAMBDA_RUNTIME_API": api,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{version}",
        "AWS_LAMBDA_FUNCTION_NAME": "nova-rft-reward",
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/nova-rft-reward",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[1]0123456789abcdef",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "_HANDLER": variables["_HANDLER"],
        **{k: v for k, v in variables.items() if k != "_HANDLER"},
    }


def start_client(handler: str, task_root: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`python -S -m awslambdaric <handler>` in the task root, as the managed runtime starts it."""
    with log.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-S", "-m", "awslambdaric", handler],
            cwd=task_root,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.wait()


def bedrock_batch(spec_path: Path, rows: int = 4) -> list[dict[str, Any]]:
    """What Bedrock sends the grader: per row, the reference answer (as the spec's control_template writes
    it) and a known-bad answer, each with the conversation and the dataset row's other fields."""
    template = load_spec(spec_path).control_template
    batch = []
    for row in load_rows(PROJECT_ROOT / "data" / "sample" / "train.jsonl", limit=rows):
        wrong = negative_controls(template, row.reference)["wrong_number"]
        batch.append(event_element(row, positive_control(template, row.reference), f"{row.line}:reference"))
        batch.append(event_element(row, wrong, f"{row.line}:wrong"))
    return batch


def test_the_bundle_grades_a_bedrock_batch_under_the_lambda_runtime_client(
    default_app: SynthesizedApp, tmp_path: Path
) -> None:
    # What the stack deploys: its handler string and environment, from the synthesized template.
    (function,) = [
        r["Properties"]
        for r in default_app.resources("reward", "AWS::Lambda::Function").values()
        if r["Properties"].get("Handler", "").startswith("reward.")
    ]
    variables = dict(function["Environment"]["Variables"])
    inputs = reward_bundle(default_app.built.config.reward_spec)
    assert (function["Handler"], variables["REWARD_SPEC"]) == (inputs.handler, inputs.spec_in_bundle)
    assert not Path(variables["REWARD_SPEC"]).is_absolute()  # resolved against LAMBDA_TASK_ROOT

    task_root = bundle_into(
        tmp_path / "task",
        packages=inputs.packages,
        extra_files=inputs.extra_files,
        requirements=inputs.requirements,
        architecture=host_architecture(),
        python_version=f"{sys.version_info.major}.{sys.version_info.minor}",
    )
    runtime = runtime_dir(tmp_path / "runtime")
    batch = bedrock_batch(default_app.built.config.reward_spec)

    with runtime_api(FUNCTION_ARN) as api:
        env = lambda_environment(
            task_root, runtime, {**variables, "_HANDLER": function["Handler"]}, api.address
        )
        client = start_client(function["Handler"], task_root, env, tmp_path / "client.log")
        try:
            posted = api.invoke(batch, timeout_ms=function["Timeout"] * 1000, wait_s=120)
        finally:
            stop(client)
    log = (tmp_path / "client.log").read_text(errors="replace")
    assert api.init_errors == [], log
    assert posted is not None, f"the runtime client posted nothing; its output:\n{log}"
    assert posted.kind == "response", posted.body[:2000]

    reply = posted.json()  # what awslambdaric serialized
    assert [element["id"] for element in reply] == [element["id"] for element in batch]
    scores = {element["id"]: element["aggregate_reward_score"] for element in reply}
    assert all(isinstance(s, float) and math.isfinite(s) for s in scores.values())
    for element in batch[::2]:
        line = element["id"].split(":")[0]
        assert scores[f"{line}:reference"] == 1.0  # the reference answer earns the top reward
        assert scores[f"{line}:wrong"] < scores[f"{line}:reference"]
    assert all(m["type"] in ("Reward", "Metric") for element in reply for m in element["metrics_list"])
    # The Lambda-only telemetry ran: EMF documents on stdout, which CloudWatch turns into metrics.
    assert '"_aws"' in log and "CloudWatchMetrics" in log


def test_a_broken_bundled_spec_is_an_init_error_before_any_event(
    default_app: SynthesizedApp, tmp_path: Path
) -> None:
    """The spec loads at init (cold start): a spec that does not load fails there, not on a batch."""
    inputs = reward_bundle(default_app.built.config.reward_spec)
    broken = tmp_path / "broken.toml"
    broken.write_text('[[dimensions]]\nname = "c"\ngrader = "numerik"\n')
    task_root = bundle_into(
        tmp_path / "task",
        packages=inputs.packages,
        extra_files={inputs.spec_in_bundle: broken},
        requirements=inputs.requirements,
        architecture=host_architecture(),
        python_version=f"{sys.version_info.major}.{sys.version_info.minor}",
    )
    runtime = runtime_dir(tmp_path / "runtime")
    with runtime_api(FUNCTION_ARN) as api:
        env = lambda_environment(
            task_root,
            runtime,
            {"REWARD_SPEC": inputs.spec_in_bundle, "_HANDLER": inputs.handler},
            api.address,
        )
        client = start_client(inputs.handler, task_root, env, tmp_path / "client.log")
        try:
            assert client.wait(timeout=120) == 1  # the runtime exits after reporting the init error
        finally:
            stop(client)
    log = (tmp_path / "client.log").read_text(errors="replace")
    assert api.next_calls == 0, log  # it never asked for an event
    (error,) = api.init_errors
    body = json.loads(error.body)
    assert body["errorType"] == "SpecError"
    assert "unknown grader 'numerik'" in body["errorMessage"] and "specs/" in body["errorMessage"]
