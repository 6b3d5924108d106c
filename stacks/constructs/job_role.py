"""The service role an Amazon Bedrock model-customization (RFT) job runs as.

Bedrock assumes this role to read the training and validation files, write the job's output, and invoke the
reward Lambda for every rollout (docs/contract.md §4). It exists whether or not the stack starts a job, so a
user can also start the job by hand (console or CLI) with the exact same permissions.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

BEDROCK_SERVICE = "bedrock.amazonaws.com"


def model_customization_job_arns(scope: Construct) -> str:
    """The ARN pattern of every model-customization job in this stack's account and region."""
    return Stack.of(scope).format_arn(
        service="bedrock", resource="model-customization-job", resource_name="*"
    )


def bedrock_service_principal(scope: Construct, source_arn: str) -> iam.ServicePrincipal:
    """`bedrock.amazonaws.com`, only on behalf of this account (`aws:SourceAccount`) and only for the
    Bedrock resources matching `source_arn` (`aws:SourceArn`): confused-deputy protection, as AWS's
    service-role pages for model customization and batch inference recommend."""
    return iam.ServicePrincipal(
        BEDROCK_SERVICE,
        conditions={
            "StringEquals": {"aws:SourceAccount": Stack.of(scope).account},
            "ArnLike": {"aws:SourceArn": source_arn},
        },
    )


def kms_via_service(scope: Construct, service: str) -> dict[str, dict[str, str]]:
    """An IAM condition that lets a KMS permission be used only by `service` (e.g. "s3") on our behalf."""
    return {"StringEquals": {"kms:ViaService": f"{service}.{Stack.of(scope).region}.amazonaws.com"}}


def custom_model_key_statement(scope: Construct, key: kms.IKey, *, sid: str) -> iam.PolicyStatement:
    """KMS use Bedrock needs to encrypt the trained custom model with `key` (customModelKmsKeyId).

    The actions and the `kms:ViaService` condition are the ones the Bedrock/Nova user guide lists for model
    customization with a customer managed key ("Encryption of custom models").
    """
    return iam.PolicyStatement(
        sid=sid,
        actions=["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant"],
        resources=[key.key_arn],
        conditions=kms_via_service(scope, "bedrock"),
    )


class JobRole(Construct):
    """The least-privilege service role of the RFT job (`self.role`).

    Trust: `bedrock.amazonaws.com`, only on behalf of this account (`aws:SourceAccount`) and only for
    model-customization jobs in this region (`aws:SourceArn`), so no other Bedrock resource or account can
    use it (confused-deputy protection).

    Permissions (one inline policy, no wildcard actions):
      - `s3:GetObject` on exactly the training/validation objects, `s3:ListBucket` on the dataset bucket;
      - `s3:GetObject`/`s3:PutObject` under the output prefix, `s3:ListBucket` on the output bucket;
      - `lambda:InvokeFunction` on exactly the published reward version (the ARN the job pins to);
      - with a customer key: encrypt/decrypt through S3 and the custom-model grant through Bedrock.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dataset_bucket: s3.IBucket,
        data_keys: Sequence[str],
        output_bucket: s3.IBucket,
        output_prefix: str,
        reward_version: lambda_.IVersion,
        encryption_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not data_keys:
            raise ValueError("JobRole needs at least one data key (the training data)")
        if not output_prefix.endswith("/"):
            raise ValueError(f"output_prefix must end with '/', got {output_prefix!r}")
        #: The only wildcard resource: Bedrock picks the object names under the output prefix at run time.
        self.output_objects_arn = output_bucket.arn_for_objects(f"{output_prefix}*")

        statements = [
            iam.PolicyStatement(
                sid="ReadTrainingData",
                actions=["s3:GetObject"],
                resources=[dataset_bucket.arn_for_objects(key) for key in data_keys],
            ),
            # No s3:prefix condition: the prefix Bedrock lists with is undocumented, a mismatch would only
            # show up as a failed job after deployment, and the bucket holds nothing but datasets.
            iam.PolicyStatement(
                sid="ListDatasetBucket", actions=["s3:ListBucket"], resources=[dataset_bucket.bucket_arn]
            ),
            iam.PolicyStatement(
                sid="WriteJobOutput",
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[self.output_objects_arn],
            ),
            iam.PolicyStatement(
                sid="ListOutputBucket", actions=["s3:ListBucket"], resources=[output_bucket.bucket_arn]
            ),
            iam.PolicyStatement(
                sid="InvokeRewardFunctionVersion",
                actions=["lambda:InvokeFunction"],
                resources=[reward_version.function_arn],
            ),
        ]
        if encryption_key is not None:
            statements += [
                iam.PolicyStatement(
                    sid="UseDataKeyThroughS3",
                    actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                    resources=[encryption_key.key_arn],
                    conditions=kms_via_service(self, "s3"),
                ),
                custom_model_key_statement(self, encryption_key, sid="EncryptCustomModel"),
            ]
        self.policy_document = iam.PolicyDocument(statements=statements)

        self.role = iam.Role(
            self,
            "Role",
            description="Service role of the Bedrock reinforcement fine-tuning job (Nova RFT Kit).",
            assumed_by=bedrock_service_principal(self, model_customization_job_arns(self)),
            inline_policies={"RftJob": self.policy_document},
        )
