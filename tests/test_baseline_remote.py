"""`rft baseline --remote --stack NAME`: samples from the Bedrock emulator, grades through the deployed
reward Lambda (a real Invoke API server answering with the real handler; its name from the reward stack's
outputs through a Stubber-validated DescribeStacks), and reports what local grading reports."""

from __future__ import annotations

import json

from tests.bedrock_emulator import Script, bedrock_emulator
from tests.policy_runs import BASE_ID, GSM8K, run_cli, write_task
from tests.test_cli_remote import VERSION_ARN, Clients, fake_lambda, stack_reply  # noqa: F401 (fixture)


def test_remote_grading_through_the_stack_reward_lambda_matches_local(fake_lambda, tmp_path):  # noqa: F811
    task = write_task(tmp_path, 20)
    probabilities = [(0.0, 0.5, 1.0)[i % 3] for i in range(20)]
    clients = Clients()
    clients.stub("cloudformation").add_response(
        "describe_stacks",
        stack_reply("nova-rft-reward", {"RewardFunctionName": "fn", "RewardFunctionVersionArn": VERSION_ARN}),
        {"StackName": "nova-rft-reward"},
    )
    args = ["baseline", "--data", str(task.path), "--spec", GSM8K, "--samples", "4", "--yes", "--json"]
    with bedrock_emulator(Script(policies={BASE_ID: task.policy(probabilities)})) as emu:
        code, local, err = run_cli([*args, "--out", str(tmp_path / "o")])
        assert code == 0, err
        calls = len(emu.requests)
        code, remote, err = run_cli(
            [*args, "--out", str(tmp_path / "o"), "--remote", "--stack", "nova-rft"], client_factory=clients
        )
        assert code == 0, err
        assert len(emu.requests) == calls  # the samples came from the cache: only grading changed
    clients.assert_done()
    assert fake_lambda.requests and {r["function"] for r in fake_lambda.requests} == {VERSION_ARN}
    assert sum(len(r["event"]) for r in fake_lambda.requests) == 20 * 4
    # Grades are cached per (spec, grader, sample): a rerun invokes nothing (a judge spec re-pays nothing).
    invocations = len(fake_lambda.requests)
    clients.stub("cloudformation").add_response(
        "describe_stacks",
        stack_reply("nova-rft-reward", {"RewardFunctionVersionArn": VERSION_ARN}),
        {"StackName": "nova-rft-reward"},
    )
    with bedrock_emulator(Script(policies={BASE_ID: task.policy(probabilities)})) as emu:
        code, again, err = run_cli(
            [*args, "--out", str(tmp_path / "o"), "--remote", "--stack", "nova-rft"], client_factory=clients
        )
        assert code == 0 and emu.requests == [], err
    assert len(fake_lambda.requests) == invocations
    assert json.loads(again)["mean_reward"] == json.loads(remote)["mean_reward"]
    local_report, remote_report = json.loads(local), json.loads(remote)
    assert "deployed reward Lambda" in remote_report["graded_by"]
    for key in ("mean_reward", "signal_share", "solved_share", "unsolved_share", "verdict", "statuses"):
        assert remote_report[key] == local_report[key]


def test_remote_grading_failure_is_one_line(fake_lambda, tmp_path):  # noqa: F811
    fake_lambda.behaviour = lambda event: (200, {}, json.dumps([{"id": "?"}] * len(event)).encode())
    task = write_task(tmp_path, 2)
    clients = Clients()
    clients.stub("cloudformation").add_response(
        "describe_stacks",
        stack_reply("nova-rft-reward", {"RewardFunctionVersionArn": VERSION_ARN}),
        {"StackName": "nova-rft-reward"},
    )
    with bedrock_emulator(Script(policies={BASE_ID: task.policy([0.5, 0.5])})):
        code, _, err = run_cli(
            [
                "baseline",
                "--data",
                str(task.path),
                "--spec",
                GSM8K,
                "--yes",
                "--out",
                str(tmp_path / "o"),
                "--remote",
                "--stack",
                "nova-rft",
            ],
            client_factory=clients,
        )
    assert code == 1 and "breaks the reward contract" in err and "Traceback" not in err
