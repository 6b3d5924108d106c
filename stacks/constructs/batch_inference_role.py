"""The service role Amazon Bedrock batch inference (`CreateModelInvocationJob`) runs as, for `--via batch`.

AWS documents this role in the Bedrock user guide ("Create a custom service role for batch inference"):
trust `bedrock.amazonaws.com` with `aws:SourceAccount` and `aws:SourceArn` =
`arn:aws:bedrock:<region>:<account>:model-invocation-job/*`; read the input data and write the output data
in S3 (AWS's example grants s3:GetObject/PutObject/ListBucket on both buckets — this role splits them:
read-only on the input prefix, write on the output prefix). Invoking a model through a cross-region
inference profile needs `bedrock:InvokeModel` on the profile and on the model in every region it routes to
("Prerequisites for inference profiles"); the grant here is exactly the base model's inference profile
(the same construct as the judge's grant).

Assumed, not documented: that Bedrock lists the input and output locations with a prefix under the URIs
the job names (the `s3:prefix` conditions below), and that batch jobs reading/writing KMS-encrypted
objects use the key through S3 (`kms:ViaService`), as model customization jobs do.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.constructs.job_role import bedrock_service_principal, kms_via_service
from stacks.constructs.judge_access import JudgeAccess

#: Where `rft ... --via batch` writes its input files (dataset bucket) and Bedrock its results (output bucket).
INPUT_PREFIX = "batch-input/"
OUTPUT_PREFIX = "batch-output/"


def model_invocation_job_arns(scope: Construct) -> str:
    """The ARN pattern of every batch inference job in this stack's account and region."""
    return Stack.of(scope).format_arn(service="bedrock", resource="model-invocation-job", resource_name="*")


class BatchInferenceRole(Construct):
    """The least-privilege service role of Bedrock batch inference jobs (`self.role`).

    Attributes:
        role: the role (pass its ARN as `roleArn` of CreateModelInvocationJob).
        input_objects_arn / output_objects_arn: the two object wildcards (the prefixes Bedrock reads and
            writes; the object names are chosen per batch at run time).
        model_access: the `bedrock:InvokeModel` grant on exactly `model_id`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        input_bucket: s3.IBucket,
        output_bucket: s3.IBucket,
        model_id: str,
        encryption_key: kms.IKey | None = None,
        input_prefix: str = INPUT_PREFIX,
        output_prefix: str = OUTPUT_PREFIX,
    ) -> None:
        super().__init__(scope, construct_id)
        for name, prefix in (("input_prefix", input_prefix), ("output_prefix", output_prefix)):
            if not prefix.endswith("/") or prefix.startswith("/"):
                raise ValueError(f"{name} must look like 'folder/', got {prefix!r}")
        self.input_prefix, self.output_prefix = input_prefix, output_prefix
        self.input_objects_arn = input_bucket.arn_for_objects(f"{input_prefix}*")
        self.output_objects_arn = output_bucket.arn_for_objects(f"{output_prefix}*")

        def listing(prefix: str) -> dict[str, dict[str, list[str]]]:
            return {"StringLike": {"s3:prefix": [prefix, f"{prefix}*"]}}

        statements = [
            iam.PolicyStatement(
                sid="ReadBatchInput", actions=["s3:GetObject"], resources=[self.input_objects_arn]
            ),
            iam.PolicyStatement(
                sid="ListBatchInput",
                actions=["s3:ListBucket"],
                resources=[input_bucket.bucket_arn],
                conditions=listing(input_prefix),
            ),
            # GetObject on the output too: AWS's example grants it, and Bedrock may read back what it wrote.
            iam.PolicyStatement(
                sid="WriteBatchOutput",
                actions=["s3:PutObject", "s3:GetObject"],
                resources=[self.output_objects_arn],
            ),
            iam.PolicyStatement(
                sid="ListBatchOutput",
                actions=["s3:ListBucket"],
                resources=[output_bucket.bucket_arn],
                conditions=listing(output_prefix),
            ),
        ]
        if encryption_key is not None:
            statements.append(
                iam.PolicyStatement(
                    sid="UseDataKeyThroughS3",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[encryption_key.key_arn],
                    conditions=kms_via_service(self, "s3"),
                )
            )
        self.policy_document = iam.PolicyDocument(statements=statements)
        self.role = iam.Role(
            self,
            "Role",
            description="Service role of Bedrock batch inference jobs (Nova RFT Kit, rft --via batch).",
            assumed_by=bedrock_service_principal(self, model_invocation_job_arns(self)),
            inline_policies={"BatchInference": self.policy_document},
        )
        self.model_access = JudgeAccess(
            self, "ModelAccess", role=self.role, model_id=model_id, sid_prefix="Batch"
        )
