"""Upload local dataset files to S3 under content-addressed keys.

Each file lands at `datasets/<first 16 hex chars of its sha256>/<file name>`: a changed file gets a new key
(and so a new job name downstream), an unchanged file keeps its key across deploys, and nothing is ever
overwritten in place. Every file is staged alone, so its asset is exactly that file.

The copy runs in CDK's `BucketDeployment` Lambda. Left alone, CDK gives that Lambda a role with
`AWSLambdaBasicExecutionRole` and wildcard actions (`s3:GetObject*`, `s3:List*`, `s3:DeleteObject*`, ...) on
whole buckets. Here it gets its own role whose policy names each action and each object it touches: read
the staged asset zips, list the dataset bucket (`aws s3 sync` compares), put exactly the dataset keys,
write its own log group — and, with a customer key, encrypt with that key.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from stacks.constructs.nag import acknowledge
from stacks.constructs.python_function import lambda_role
from stacks.paths import PROJECT_ROOT

DATASET_PREFIX = "datasets/"
_STAGING_DIR = PROJECT_ROOT / ".cache" / "datasets"


def content_key(path: Path, prefix: str = DATASET_PREFIX) -> str:
    """The S3 key of `path`'s content: `<prefix><sha256[:16]>/<file name>`."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return f"{prefix}{digest.hexdigest()[:16]}/{path.name}"


def _stage(path: Path, key: str) -> Path:
    """A directory holding only `key` (a copy of `path`): the zip the deployment extracts at the root."""
    root = _STAGING_DIR / key.replace("/", "_").replace(".", "-")
    target = root / key
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        shutil.copyfile(path, partial)
        partial.replace(target)
    return root


class DatasetUpload(Construct):
    """Copies dataset files into `bucket`; `self.keys[path]` is each file's S3 key.

    `self.deployment` is the `BucketDeployment`: anything that reads the data at deploy time (the job
    starter) must depend on it. Objects are kept when the stack is deleted (`retain_on_delete`) and old
    versions are never pruned: a running job may still read them.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        files: Sequence[Path],
        encryption_key: kms.IKey | None,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.keys: dict[Path, str] = {}
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=removal_policy,
            encryption_key=encryption_key,
        )
        self.role = lambda_role(
            self,
            "Role",
            description="Dataset upload (BucketDeployment): reads its asset zips, writes the dataset keys",
            log_group=self.log_group,
        )
        sources = []
        for index, path in enumerate(files):
            key = content_key(path)
            self.keys[path] = key
            asset = s3_assets.Asset(self, f"Asset{index}", path=str(_stage(path, key)))
            sources.append(s3deploy.Source.bucket(asset.bucket, asset.s3_object_key))
            self.role.add_to_policy(
                iam.PolicyStatement(
                    actions=["s3:GetObject"], resources=[asset.bucket.arn_for_objects(asset.s3_object_key)]
                )
            )
        self.role.add_to_policy(iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn]))
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(key) for key in self.keys.values()],
            )
        )
        if encryption_key is not None:
            # PutObject into an SSE-KMS bucket; Decrypt too because the CLI uploads big files in parts. Only
            # through S3 (kms:ViaService): the role cannot use the key directly.
            self.role.add_to_policy(
                iam.PolicyStatement(
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[encryption_key.key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"s3.{cdk.Stack.of(self).region}.amazonaws.com"}
                    },
                )
            )
        self.deployment = s3deploy.BucketDeployment(
            self,
            "Deployment",
            sources=sources,
            destination_bucket=bucket,
            prune=False,
            retain_on_delete=True,
            extract=True,
            # The grants BucketDeployment would add (wildcards, whole buckets) are dropped: the policy
            # above is the complete list of what the copy needs.
            role=self.role.without_policy_updates(),
            log_group=self.log_group,
        )
        self.deployment.node.add_dependency(self.role)
        self._acknowledge_handler()

    def _acknowledge_handler(self) -> None:
        """The copy function is CDK's singleton, created at the stack's top level; acknowledge it there."""
        stack = cdk.Stack.of(self)
        handlers = [
            child
            for child in stack.node.children
            if child.node.id.startswith("Custom::CDKBucketDeployment") and isinstance(child, lambda_.Function)
        ]
        for handler in handlers:
            acknowledge(
                handler,
                "AwsSolutions-L1",
                "CDK's BucketDeployment handler: aws-cdk-lib pins its runtime (and the AWS CLI layer it "
                "needs); it moves to a newer runtime with aws-cdk-lib upgrades. It runs only during deploys.",
            )
            acknowledge(
                handler,
                "Serverless-LambdaLatestVersion",
                "CDK's BucketDeployment handler: aws-cdk-lib pins its runtime; it runs only during deploys.",
            )
            acknowledge(
                handler,
                "Serverless-LambdaDLQ",
                "Invoked by CloudFormation as a custom resource: a failure is reported back to "
                "CloudFormation, which fails and rolls back the deploy; a DLQ would only keep stale events.",
            )
            acknowledge(
                handler,
                "Serverless-LambdaTracing",
                "A deploy-time copy (a few S3 calls, once per deploy): its log group has everything needed "
                "to debug it; X-Ray traces would add cost and no insight.",
            )
