"""The data stack: every bucket private, encrypted, TLS-only, versioned, logged and retained; the upload
content-addressed and least-privileged."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match

from app import cdk_json_context, report_warnings
from reward.dataset import RULES
from stacks.config import PROJECT_ROOT, ConfigError, load_config
from stacks.constructs.data_key import ACCOUNT_KEY_ACTIONS
from stacks.constructs.dataset_upload import content_key
from stacks.constructs.secure_bucket import AUTO_DELETE_EXPLICIT_ACTIONS
from tests.conftest import Apps, SynthesizedApp, synthesize

pytestmark = pytest.mark.slow

SAMPLE = PROJECT_ROOT / "data" / "sample"


@pytest.fixture(scope="module")
def kms_destroy(apps: Apps) -> SynthesizedApp:
    """encryption=kms and retain_data=false in one app (two variants, one synth)."""
    return apps["kms"]


def buckets(app: SynthesizedApp) -> dict[str, dict[str, Any]]:
    found = app.resources("data", "AWS::S3::Bucket")
    assert len(found) == 3, sorted(found)
    return found


def bucket_ids(app: SynthesizedApp) -> dict[str, str]:
    data = app.built.data
    return {
        "datasets": app.logical_id(data.dataset_bucket),
        "output": app.logical_id(data.output_bucket),
        "logs": app.logical_id(data.access_log_bucket),
    }


def test_every_bucket_blocks_public_access_and_disables_acls(default_app: SynthesizedApp) -> None:
    """Datasets and trained-model output must never be public."""
    for logical_id, bucket in buckets(default_app).items():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, logical_id
        assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}, (
            logical_id
        )


def test_every_bucket_is_versioned(default_app: SynthesizedApp) -> None:
    """An overwritten or deleted object can be recovered."""
    for logical_id, bucket in buckets(default_app).items():
        assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}, logical_id


def test_every_bucket_is_encrypted_with_s3_managed_keys_by_default(default_app: SynthesizedApp) -> None:
    """Encryption at rest is on even without a customer key."""
    for logical_id, bucket in buckets(default_app).items():
        rules = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rules == [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}], logical_id


def test_every_bucket_policy_denies_plain_http_and_old_tls(default_app: SynthesizedApp) -> None:
    """TLS-only: requests without TLS (or below TLS 1.2) are denied for every principal."""
    ids = bucket_ids(default_app)
    policies = default_app.resources("data", "AWS::S3::BucketPolicy")
    protected = {
        p["Properties"]["Bucket"]["Ref"]: p["Properties"]["PolicyDocument"] for p in policies.values()
    }
    assert set(protected) == set(ids.values())
    for logical_id, document in protected.items():
        denies = [s for s in document["Statement"] if s["Effect"] == "Deny"]
        conditions = [
            s["Condition"] for s in denies if s["Action"] == "s3:*" and s["Principal"] == {"AWS": "*"}
        ]
        assert {"Bool": {"aws:SecureTransport": "false"}} in conditions, logical_id
        assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions, logical_id


def test_dataset_and_output_buckets_log_access_to_the_log_bucket(default_app: SynthesizedApp) -> None:
    """Server access logs show who read the data and the model output."""
    ids = bucket_ids(default_app)
    all_buckets = buckets(default_app)
    for name, prefix in (("datasets", "datasets/"), ("output", "output/")):
        assert all_buckets[ids[name]]["Properties"]["LoggingConfiguration"] == {
            "DestinationBucketName": {"Ref": ids["logs"]},
            "LogFilePrefix": prefix,
        }
    # Logging the log bucket into itself would loop; cdk-nag's S1 is acknowledged for it alone.
    assert "LoggingConfiguration" not in all_buckets[ids["logs"]]["Properties"]


def test_the_log_bucket_accepts_logs_only_from_our_buckets(default_app: SynthesizedApp) -> None:
    """S3's logging service may write to the log bucket only on behalf of our buckets, in our account."""
    ids = bucket_ids(default_app)
    document = next(
        p["Properties"]["PolicyDocument"]
        for p in default_app.resources("data", "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": ids["logs"]}
    )
    writers = [
        s for s in document["Statement"] if s.get("Principal") == {"Service": "logging.s3.amazonaws.com"}
    ]
    assert len(writers) == 2
    for statement in writers:
        assert statement["Action"] == "s3:PutObject"
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


def test_buckets_are_retained_on_delete_by_default(default_app: SynthesizedApp) -> None:
    """`cdk destroy` must not delete a user's data unless they asked for it."""
    for logical_id, bucket in buckets(default_app).items():
        assert bucket["DeletionPolicy"] == "Retain", logical_id
        assert bucket["UpdateReplacePolicy"] == "Retain", logical_id
    assert not default_app.resources("data", "Custom::S3AutoDeleteObjects")


def test_no_kms_key_without_encryption_kms(default_app: SynthesizedApp) -> None:
    """A customer key costs money: only with encryption=kms."""
    assert not default_app.resources("data", "AWS::KMS::Key")
    assert default_app.built.data.encryption_key is None


def test_datasets_are_uploaded_under_content_addressed_keys(default_app: SynthesizedApp) -> None:
    """A changed file gets a new key (so a new job); an unchanged file keeps its key."""
    data = default_app.built.data
    assert data.training_data_key == content_key(SAMPLE / "train.jsonl")
    assert data.validation_data_key == content_key(SAMPLE / "validation.jsonl")
    assert re.fullmatch(r"datasets/[0-9a-f]{16}/train\.jsonl", data.training_data_key)
    assert data.output_prefix == "output/"


def test_content_key_follows_the_content(tmp_path: Path) -> None:
    """Same bytes, same key; one byte changed, another key."""
    a = tmp_path / "a" / "train.jsonl"
    b = tmp_path / "b" / "train.jsonl"
    for path in (a, b):
        path.parent.mkdir()
        path.write_text('{"x": 1}\n')
    assert content_key(a) == content_key(b)
    b.write_text('{"x": 2}\n')
    assert content_key(a) != content_key(b)


def test_the_upload_never_deletes_or_prunes(default_app: SynthesizedApp) -> None:
    """A running job may still read older datasets: nothing is pruned or deleted with the stack."""
    default_app.template("data").has_resource_properties(
        "Custom::CDKBucketDeployment",
        {
            "Prune": False,
            "RetainOnDelete": True,
            "Extract": True,
            "DestinationBucketName": {"Ref": Match.any_value()},
        },
    )


def test_each_dataset_asset_is_exactly_that_file(default_app: SynthesizedApp) -> None:
    """The staged asset holds only the dataset at its content-addressed key (nothing else is uploaded)."""
    data = default_app.built.data
    _, deployment = default_app.only("data", "Custom::CDKBucketDeployment")
    zips = deployment["Properties"]["SourceObjectKeys"]
    assert len(zips) == 2
    staged = sorted(
        str(f.relative_to(d))
        for d in default_app.outdir.glob("asset.*")
        if d.is_dir() and (d / "datasets").is_dir()
        for f in d.rglob("*")
        if f.is_file()
    )
    assert staged == sorted([data.training_data_key, data.validation_data_key])


def test_the_upload_role_names_every_action_and_object(default_app: SynthesizedApp) -> None:
    """CDK's default upload role has AWSLambdaBasicExecutionRole and s3:* wildcards; ours lists each."""
    data = default_app.built.data
    upload_role = next(
        k
        for k, r in default_app.resources("data", "AWS::IAM::Role").items()
        if "Dataset upload" in r["Properties"].get("Description", "")
    )
    role = default_app.templates["data"]["Resources"][upload_role]["Properties"]
    assert "ManagedPolicyArns" not in role
    policy = next(
        p["Properties"]["PolicyDocument"]
        for p in default_app.resources("data", "AWS::IAM::Policy").values()
        if {"Ref": upload_role} in p["Properties"]["Roles"]
    )
    by_action = {}
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            by_action[action] = statement["Resource"]
    assert set(by_action) == {
        "s3:GetObject",
        "s3:ListBucket",
        "s3:PutObject",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    put = by_action["s3:PutObject"]
    put_keys = sorted(part["Fn::Join"][1][1].lstrip("/") for part in put)
    assert put_keys == sorted([data.training_data_key, data.validation_data_key])


def test_validation_data_can_be_left_out(apps: Apps) -> None:
    """validation_data="" uploads only the training set and has no validation output."""
    app = apps["no_validation"]
    assert app.built.data.validation_data_key is None
    outputs = app.templates["data"]["Outputs"]
    assert "TrainingDataS3Uri" in outputs and "ValidationDataS3Uri" not in outputs


def test_outputs_name_the_buckets_and_data_uris(default_app: SynthesizedApp) -> None:
    """Users (and the rft CLI) find their data through the stack outputs."""
    ids = bucket_ids(default_app)
    outputs = default_app.templates["data"]["Outputs"]
    assert outputs["DatasetBucketName"]["Value"] == {"Ref": ids["datasets"]}
    assert outputs["OutputBucketName"]["Value"] == {"Ref": ids["output"]}
    assert outputs["AccessLogBucketName"]["Value"] == {"Ref": ids["logs"]}
    key = default_app.built.data.training_data_key
    assert outputs["TrainingDataS3Uri"]["Value"] == {
        "Fn::Join": ["", ["s3://", {"Ref": ids["datasets"]}, f"/{key}"]]
    }
    assert outputs["OutputS3Uri"]["Value"] == {
        "Fn::Join": ["", ["s3://", {"Ref": ids["output"]}, "/output/"]]
    }


# --- encryption=kms, retain_data=false -------------------------------------------------------------------


def test_kms_key_rotates_and_its_policy_has_no_wildcard_action(kms_destroy: SynthesizedApp) -> None:
    """A customer key with yearly rotation; the account manages it through IAM, action by action."""
    _, key = kms_destroy.only("data", "AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True
    account = key["Properties"]["KeyPolicy"]["Statement"][0]
    assert account["Sid"] == "AccountManagesKeyThroughIam"
    assert sorted(account["Action"]) == sorted(ACCOUNT_KEY_ACTIONS)


def test_dataset_and_output_buckets_use_the_kms_key_but_the_log_bucket_cannot(
    kms_destroy: SynthesizedApp,
) -> None:
    """S3 server access logging cannot write to a KMS-encrypted bucket, so that one stays SSE-S3."""
    key_id = kms_destroy.logical_id(kms_destroy.built.data.encryption_key)
    ids = bucket_ids(kms_destroy)
    all_buckets = buckets(kms_destroy)
    for name in ("datasets", "output"):
        rule = all_buckets[ids[name]]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][
            0
        ]
        assert rule["ServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
        }
        assert rule["BucketKeyEnabled"] is True
    logs_rule = all_buckets[ids["logs"]]["Properties"]["BucketEncryption"][
        "ServerSideEncryptionConfiguration"
    ][0]
    assert logs_rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


def test_the_upload_role_may_encrypt_with_the_key(kms_destroy: SynthesizedApp) -> None:
    """Uploading into an SSE-KMS bucket needs GenerateDataKey (and Decrypt for multipart uploads)."""
    key_id = kms_destroy.logical_id(kms_destroy.built.data.encryption_key)
    statements = [
        s
        for p in kms_destroy.resources("data", "AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert {
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
        "Effect": "Allow",
        "Resource": {"Fn::GetAtt": [key_id, "Arn"]},
    } in statements


def test_retain_data_false_deletes_buckets_with_their_objects(kms_destroy: SynthesizedApp) -> None:
    """Throw-away deployments clean up fully: buckets, objects (auto-delete) and the key."""
    for logical_id, bucket in buckets(kms_destroy).items():
        assert bucket["DeletionPolicy"] == "Delete", logical_id
    assert len(kms_destroy.resources("data", "Custom::S3AutoDeleteObjects")) == 3
    _, key = kms_destroy.only("data", "AWS::KMS::Key")
    assert key["DeletionPolicy"] == "Delete"


def test_auto_delete_bucket_policy_statements_name_their_actions(kms_destroy: SynthesizedApp) -> None:
    """CDK grants its auto-delete handler s3:List*/GetBucket*/DeleteObject*; we spell out what it calls."""
    for policy in kms_destroy.resources("data", "AWS::S3::BucketPolicy").values():
        allows = [
            s
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
            if "AWS" in s.get("Principal", {}) and s["Effect"] == "Allow"
        ]
        assert [s["Action"] for s in allows] == [list(AUTO_DELETE_EXPLICIT_ACTIONS)]


def test_kms_outputs_the_key_arn(kms_destroy: SynthesizedApp) -> None:
    """The key ARN is needed to read the output outside the stack."""
    assert "EncryptionKeyArn" in kms_destroy.templates["data"]["Outputs"]


def test_config_warnings_reach_the_synth_output(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Dataset and hyperparameter warnings: one line each on synth's stderr, with how to silence them."""
    rows = (SAMPLE / "train.jsonl").read_text().splitlines()
    for index in (0, 3):  # under the 1% of rows a spec may fail to grade (2 of 250)
        record = json.loads(rows[index])
        del record["reference_answer"]
        rows[index] = json.dumps(record)
    train = tmp_path_factory.mktemp("warned") / "train.jsonl"
    train.write_text("\n".join(rows) + "\n")
    validation = train.parent / "validation.jsonl"
    validation.write_text("\n".join((SAMPLE / "validation.jsonl").read_text().splitlines()[:30]) + "\n")
    app = synthesize(
        {"training_data": str(train), "validation_data": str(validation), "reasoning_effort": "medium"},
        tmp_path_factory.mktemp("warned-cdk.out"),
    )
    stream = io.StringIO()
    report_warnings(app.built.config, stream)
    lines = stream.getvalue().splitlines()
    (reasoning,) = [line for line in lines if line.startswith("Warning: reasoning_effort=medium")]
    assert reasoning.endswith("[reasoning_effort; silence: -c acknowledge_warnings=reasoning-effort-medium]")
    assert sorted(lines) == sorted(
        [
            reasoning,
            "Warning: train.jsonl: 2 records (lines 1, 4): record has no `reference_answer`, … — "
            + RULES["missing-reference-answer"].fix
            + " [training_data; silence: -c acknowledge_warnings=missing-reference-answer]",
            "Warning: validation.jsonl: 30 validation records; 100 or more are recommended — "
            + RULES["small-validation-set"].fix
            + " [validation_data; silence: -c acknowledge_warnings=small-validation-set]",
        ]
    )
    # Not CDK annotations: the CDK CLI would print each as a three-line block.
    for stack in app.built.stacks:
        assert Annotations.from_stack(stack).find_warning("*", Match.any_value()) == []


def test_acknowledged_warnings_are_not_printed(tmp_path: Path) -> None:
    """-c acknowledge_warnings=<id> silences that kind of warning (and only that kind)."""
    validation = tmp_path / "validation.jsonl"
    validation.write_text("\n".join((SAMPLE / "validation.jsonl").read_text().splitlines()[:30]) + "\n")
    context = {**cdk_json_context(), "validation_data": str(validation), "reasoning_effort": "medium"}
    loud = load_config(cdk.App(context=context).node)
    assert sorted(w.id for w in loud.warnings) == ["reasoning-effort-medium", "small-validation-set"]
    quiet = load_config(cdk.App(context={**context, "acknowledge_warnings": "small-validation-set"}).node)
    assert [w.id for w in quiet.warnings] == ["reasoning-effort-medium"]
    assert quiet.acknowledged_warnings == ("small-validation-set",)
    with pytest.raises(ConfigError, match=r"(?s)acknowledge_warnings.*unknown: no-such-warning"):
        load_config(cdk.App(context={**context, "acknowledge_warnings": "no-such-warning"}).node)


def test_the_upload_role_uses_the_key_only_through_s3(kms_destroy: SynthesizedApp) -> None:
    """kms:ViaService: the dataset-upload role can use the data key for S3 uploads and nothing else."""
    upload = kms_destroy.built.data.node.find_child("DatasetUpload")
    role_id = kms_destroy.logical_id(upload.role)
    statements = [
        s
        for policy in kms_destroy.resources("data", "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    (kms_statement,) = [s for s in statements if "kms:Decrypt" in s["Action"]]
    assert kms_statement["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
