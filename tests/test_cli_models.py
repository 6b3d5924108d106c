"""`rft deploy-model` / `rft undeploy-model` and `tuned_model_from_stack`, through botocore Stubber clients
(every request is validated against the Bedrock and CloudFormation service models; a call the code did not
expect to make, or one it forgot, fails the test)."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from botocore.stub import ANY

from rft.cli import main
from rft.context import Context
from rft.errors import CliError
from rft.models import deployment_name_for, tuned_model_from_stack
from tests.test_cli_remote import ACCOUNT, JOB_ARN, Clients, job_reply, stack_reply

MODEL_ARN = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model/amazon.nova-2-lite-v1:0:256k/m0d3l1d2345x"
DEPLOYMENT_ARN = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model-deployment/abcdef123456"
MODEL_NAME = "nova-rft-model-3f2a9c"
NAME = deployment_name_for(MODEL_ARN, MODEL_NAME)
WHEN = dt.datetime(2025, 1, 2, tzinfo=dt.UTC)


def completed() -> dict:
    return job_reply("Completed", outputModelArn=MODEL_ARN)


def deployment(status: str, *, name: str = NAME, arn: str = DEPLOYMENT_ARN, **extra: object) -> dict:
    return {
        "customModelDeploymentArn": arn,
        "modelDeploymentName": name,
        "modelArn": MODEL_ARN,
        "createdAt": WHEN,
        "status": status,
        **extra,
    }


def not_found(stub, method: str, **params: object) -> None:
    stub.add_client_error(
        method, "ResourceNotFoundException", "not found", 404, expected_params=params or None
    )


class Run:
    """One `rft` invocation: exit code, stdout, stderr and the sleeps it asked for."""

    def __init__(self, clients: Clients, *argv: str) -> None:
        self.out, self.err, self.sleeps = io.StringIO(), io.StringIO(), []
        self.code = main(
            list(argv), out=self.out, err=self.err, client_factory=clients, sleep=self.sleeps.append
        )
        clients.assert_done()


def test_deployment_names_are_valid_deterministic_and_distinct() -> None:
    """The name is the idempotency key: same model → same name, different models → different names."""
    import re

    assert deployment_name_for(MODEL_ARN, MODEL_NAME) == NAME
    assert deployment_name_for(MODEL_ARN + "x", MODEL_NAME) != NAME
    long = deployment_name_for(MODEL_ARN, "a-" * 60 + "--__weird name!")
    for name in (NAME, long, deployment_name_for(MODEL_ARN, ""), deployment_name_for(MODEL_ARN, "---")):
        assert len(name) <= 63 and re.fullmatch(r"([0-9a-zA-Z][_-]?){1,63}", name), name


def test_deploy_creates_waits_until_active_and_prints_the_arn() -> None:
    clients = Clients()
    cfn, bedrock = clients.stub("cloudformation"), clients.stub("bedrock")
    cfn.add_response(
        "describe_stacks",
        stack_reply("nova-rft-training", {"JobArn": JOB_ARN}),
        {"StackName": "nova-rft-training"},
    )
    bedrock.add_response("get_model_customization_job", completed(), {"jobIdentifier": JOB_ARN})
    not_found(bedrock, "get_custom_model_deployment", customModelDeploymentIdentifier=NAME)
    bedrock.add_response(
        "list_custom_model_deployments",
        {"modelDeploymentSummaries": []},
        {"modelArnEquals": MODEL_ARN, "maxResults": 100},
    )
    bedrock.add_response(
        "create_custom_model_deployment",
        {"customModelDeploymentArn": DEPLOYMENT_ARN},
        {
            "modelDeploymentName": NAME,
            "modelArn": MODEL_ARN,
            "description": ANY,
            "tags": ANY,
            "clientRequestToken": ANY,
        },
    )
    for status in ("Creating", "Creating", "Active"):
        bedrock.add_response(
            "get_custom_model_deployment",
            deployment(status),
            {"customModelDeploymentIdentifier": DEPLOYMENT_ARN},
        )
    run = Run(clients, "deploy-model", "--stack", "nova-rft", "--interval", "30")
    assert run.code == 0, run.err.getvalue()
    out = run.out.getvalue()
    assert "created, Creating" in out
    assert f"Active: {DEPLOYMENT_ARN}" in out and f"rft eval --tuned {DEPLOYMENT_ARN}" in out
    assert run.sleeps == [30.0, 30.0, 30.0]
    assert run.err.getvalue().count("Creating, checking again in 30 s") == 3  # progress on stderr, per poll


def test_a_second_deploy_reuses_the_deployment_and_creates_nothing() -> None:
    """Idempotent: the deterministic name finds the Active deployment; no Create call is stubbed, so one
    would fail the test."""
    clients = Clients()
    bedrock = clients.stub("bedrock")
    bedrock.add_response("get_model_customization_job", completed(), {"jobIdentifier": JOB_ARN})
    bedrock.add_response(
        "get_custom_model_deployment", deployment("Active"), {"customModelDeploymentIdentifier": NAME}
    )
    run = Run(clients, "deploy-model", "--job-arn", JOB_ARN, "--json")
    assert run.code == 0, run.err.getvalue()
    reply = json.loads(run.out.getvalue())
    assert reply["deployment_arn"] == DEPLOYMENT_ARN and reply["created"] is False
    assert reply["status"] == "Active" and reply["model_arn"] == MODEL_ARN
    assert run.sleeps == []


def test_deploy_reuses_an_active_deployment_made_elsewhere() -> None:
    """A deployment of the same model made in the console (another name) is reused, not duplicated."""
    clients = Clients()
    bedrock = clients.stub("bedrock")
    bedrock.add_response("get_model_customization_job", completed(), {"jobIdentifier": JOB_ARN})
    not_found(bedrock, "get_custom_model_deployment", customModelDeploymentIdentifier=NAME)
    other = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model-deployment/zzzzzz999999"
    summary = {
        "customModelDeploymentArn": other,
        "customModelDeploymentName": "console-made",
        "modelArn": MODEL_ARN,
        "createdAt": WHEN,
        "status": "Active",
    }
    failed = {**summary, "customModelDeploymentArn": DEPLOYMENT_ARN, "status": "Failed"}
    bedrock.add_response(
        "list_custom_model_deployments",
        {"modelDeploymentSummaries": [failed], "nextToken": "page2"},
        {"modelArnEquals": MODEL_ARN, "maxResults": 100},
    )
    bedrock.add_response(
        "list_custom_model_deployments",
        {"modelDeploymentSummaries": [summary]},
        {"modelArnEquals": MODEL_ARN, "maxResults": 100, "nextToken": "page2"},
    )
    run = Run(clients, "deploy-model", "--job-arn", JOB_ARN)
    assert run.code == 0, run.err.getvalue()
    assert f"Active: {other}" in run.out.getvalue()


def test_a_lost_create_race_finds_the_winner() -> None:
    """Two deploys at once: the loser's ConflictException leads to the winner's deployment."""
    clients = Clients()
    bedrock = clients.stub("bedrock")
    bedrock.add_response("get_model_customization_job", completed(), {"jobIdentifier": JOB_ARN})
    not_found(bedrock, "get_custom_model_deployment", customModelDeploymentIdentifier=NAME)
    bedrock.add_response("list_custom_model_deployments", {"modelDeploymentSummaries": []})
    bedrock.add_client_error("create_custom_model_deployment", "ConflictException", "exists", 409)
    bedrock.add_response(
        "get_custom_model_deployment", deployment("Active"), {"customModelDeploymentIdentifier": NAME}
    )
    run = Run(clients, "deploy-model", "--job-arn", JOB_ARN)
    assert run.code == 0, run.err.getvalue()
    assert "found, Active" in run.out.getvalue()


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (
            "InProgress",
            f"InProgress, not Completed: wait for it to complete (`rft status --job {JOB_ARN} --watch`",
        ),
        ("Failed", "Failed, not Completed: it produced no model: OOM"),
    ],
)
def test_a_job_that_has_not_completed_is_a_clear_error(status: str, expected: str) -> None:
    clients = Clients()
    bedrock = clients.stub("bedrock")
    bedrock.add_response("get_model_customization_job", job_reply(status, failureMessage="OOM"))
    run = Run(clients, "deploy-model", "--job-arn", JOB_ARN)
    assert run.code == 1
    err = run.err.getvalue()
    assert expected in err and "Traceback" not in err and err.count("\n") == 1


def test_access_denied_names_the_permissions_the_caller_needs() -> None:
    clients = Clients()
    bedrock = clients.stub("bedrock")
    bedrock.add_response("get_model_customization_job", completed())
    not_found(bedrock, "get_custom_model_deployment")
    bedrock.add_response("list_custom_model_deployments", {"modelDeploymentSummaries": []})
    bedrock.add_client_error("create_custom_model_deployment", "AccessDeniedException", "not authorized", 403)
    run = Run(clients, "deploy-model", "--job-arn", JOB_ARN)
    assert run.code == 1
    err = run.err.getvalue()
    assert "AccessDeniedException" in err and "bedrock:CreateCustomModelDeployment" in err
    assert "Traceback" not in err


def test_a_failed_deployment_is_reported_with_its_reason_and_the_fix() -> None:
    clients = Clients()
    bedrock = clients.stub("bedrock")
    bedrock.add_response("get_model_customization_job", completed())
    bedrock.add_response("get_custom_model_deployment", deployment("Failed", failureMessage="quota exceeded"))
    run = Run(clients, "deploy-model", "--job-arn", JOB_ARN)
    assert run.code == 1
    assert "quota exceeded" in run.err.getvalue() and "rft undeploy-model --deployment" in run.err.getvalue()


def test_waiting_gives_up_after_the_timeout_counted_in_polls() -> None:
    clients = Clients()
    bedrock = clients.stub("bedrock")
    bedrock.add_response("get_model_customization_job", completed())
    bedrock.add_response("get_custom_model_deployment", deployment("Creating"))
    for _ in range(2):
        bedrock.add_response("get_custom_model_deployment", deployment("Creating"))
    run = Run(clients, "deploy-model", "--job-arn", JOB_ARN, "--interval", "60", "--timeout", "120")
    assert run.code == 1 and run.sleeps == [60.0, 60.0]
    assert "still Creating after 2 min" in run.err.getvalue()


def test_undeploy_deletes_ours_and_a_second_run_is_a_no_op() -> None:
    clients = Clients()
    bedrock = clients.stub("bedrock")
    bedrock.add_response("get_model_customization_job", completed())
    bedrock.add_response(
        "get_custom_model_deployment", deployment("Active"), {"customModelDeploymentIdentifier": NAME}
    )
    bedrock.add_response(
        "delete_custom_model_deployment", {}, {"customModelDeploymentIdentifier": DEPLOYMENT_ARN}
    )
    first = Run(clients, "undeploy-model", "--job-arn", JOB_ARN)
    bedrock.add_response("get_model_customization_job", completed())
    not_found(bedrock, "get_custom_model_deployment", customModelDeploymentIdentifier=NAME)
    second = Run(clients, "undeploy-model", "--job-arn", JOB_ARN)
    assert first.code == second.code == 0
    assert f"deleted {DEPLOYMENT_ARN}" in first.out.getvalue()
    assert "no deployment to delete" in second.out.getvalue()


def test_undeploy_by_arn_treats_not_found_as_done() -> None:
    clients = Clients()
    bedrock = clients.stub("bedrock")
    not_found(bedrock, "delete_custom_model_deployment", customModelDeploymentIdentifier=DEPLOYMENT_ARN)
    run = Run(clients, "undeploy-model", "--deployment", DEPLOYMENT_ARN, "--json")
    assert run.code == 0 and json.loads(run.out.getvalue()) == {"deleted": []}


def context(clients: Clients) -> Context:
    return Context(out=io.StringIO(), err=io.StringIO(), client_factory=clients, sleep=lambda s: None)


def test_tuned_model_from_stack_returns_the_active_deployment() -> None:
    """What `rft eval --stack` calls to get the tuned model's id."""
    clients = Clients()
    clients.stub("cloudformation").add_response(
        "describe_stacks", stack_reply("p-training", {"JobArn": JOB_ARN})
    )
    bedrock = clients.stub("bedrock")
    bedrock.add_response("get_model_customization_job", completed())
    bedrock.add_response("get_custom_model_deployment", deployment("Active"))
    assert tuned_model_from_stack(context(clients), "p") == DEPLOYMENT_ARN
    clients.assert_done()


def test_tuned_model_from_stack_says_to_deploy_first() -> None:
    clients = Clients()
    clients.stub("cloudformation").add_response(
        "describe_stacks", stack_reply("p-training", {"JobArn": JOB_ARN})
    )
    bedrock = clients.stub("bedrock")
    bedrock.add_response("get_model_customization_job", completed())
    not_found(bedrock, "get_custom_model_deployment")
    bedrock.add_response("list_custom_model_deployments", {"modelDeploymentSummaries": []})
    with pytest.raises(CliError, match="rft deploy-model --stack p"):
        tuned_model_from_stack(context(clients), "p")
