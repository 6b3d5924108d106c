"""The data stack: the dataset, output and access-log buckets, the optional KMS key, and the upload.

Its lifecycle is the data's: it outlives grader and training changes, and (with `retain_data=true`, the
default) even `cdk destroy`.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.config import Config
from stacks.constructs.data_key import DataKey
from stacks.constructs.dataset_upload import DatasetUpload
from stacks.constructs.nag import acknowledge
from stacks.constructs.secure_bucket import SecureBucket

OUTPUT_PREFIX = "output/"


class DataStack(cdk.Stack):
    """Buckets and datasets.

    Attributes:
        dataset_bucket / output_bucket / access_log_bucket: the buckets.
        encryption_key: the customer KMS key when `encryption=kms`, else None.
        training_data_key / validation_data_key: the datasets' S3 keys (content-addressed).
        output_prefix: where the job writes its output in `output_bucket`.
        deployment: the upload (`BucketDeployment`); depend on it before reading the data.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: Config, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        removal = config.removal_policy

        self.encryption_key: kms.IKey | None = (
            DataKey(self, "DataKey", removal_policy=removal, name_prefix=config.name_prefix).key
            if config.kms
            else None
        )
        # Server access logging cannot deliver to a bucket encrypted with a customer KMS key: the log
        # bucket stays SSE-S3 whatever `encryption` says.
        access_logs = SecureBucket(self, "AccessLogs", removal_policy=removal)
        self.access_log_bucket: s3.IBucket = access_logs.bucket
        acknowledge(
            access_logs.bucket,
            "AwsSolutions-S1",
            "This is the access-log bucket: it receives the other buckets' server access logs; logging it "
            "into itself would log its own log deliveries forever.",
        )
        self.dataset_bucket: s3.IBucket = SecureBucket(
            self,
            "Datasets",
            removal_policy=removal,
            encryption_key=self.encryption_key,
            access_log_bucket=access_logs.bucket,
            access_log_prefix="datasets/",
        ).bucket
        self.output_bucket: s3.IBucket = SecureBucket(
            self,
            "Output",
            removal_policy=removal,
            encryption_key=self.encryption_key,
            access_log_bucket=access_logs.bucket,
            access_log_prefix="output/",
        ).bucket
        self.output_prefix = OUTPUT_PREFIX

        files = [config.training_data] + ([config.validation_data] if config.validation_data else [])
        upload = DatasetUpload(
            self,
            "DatasetUpload",
            bucket=self.dataset_bucket,
            files=files,
            encryption_key=self.encryption_key,
            removal_policy=removal,
        )
        self.deployment = upload.deployment
        self.training_data_key: str = upload.keys[config.training_data]
        self.validation_data_key: str | None = (
            upload.keys[config.validation_data] if config.validation_data else None
        )

        self._outputs(config)

    def _outputs(self, config: Config) -> None:
        bucket = self.dataset_bucket.bucket_name
        cdk.CfnOutput(self, "DatasetBucketName", value=bucket, description="Bucket holding the datasets")
        cdk.CfnOutput(
            self,
            "OutputBucketName",
            value=self.output_bucket.bucket_name,
            description="Bucket the RFT job writes its output to",
        )
        cdk.CfnOutput(
            self,
            "AccessLogBucketName",
            value=self.access_log_bucket.bucket_name,
            description="Server access logs of the dataset and output buckets",
        )
        cdk.CfnOutput(
            self,
            "TrainingDataS3Uri",
            value=f"s3://{bucket}/{self.training_data_key}",
            description=f"Training dataset ({config.training_data.name}), content-addressed",
        )
        if self.validation_data_key:
            cdk.CfnOutput(
                self,
                "ValidationDataS3Uri",
                value=f"s3://{bucket}/{self.validation_data_key}",
                description=f"Validation dataset ({config.validation_data.name if config.validation_data else ''})",
            )
        cdk.CfnOutput(
            self,
            "OutputS3Uri",
            value=f"s3://{self.output_bucket.bucket_name}/{self.output_prefix}",
            description="Where the RFT job writes checkpoints and metrics",
        )
        if self.encryption_key is not None:
            cdk.CfnOutput(
                self, "EncryptionKeyArn", value=self.encryption_key.key_arn, description="KMS key of the data"
            )
