"""The reward Lambda: the reward library and the chosen spec, bundled locally, with a published version.

The function (`python_function.PythonFunction`) gets its own role (it may write to its own log group and
nothing else), an explicit log group with retention, and `self.version` — the immutable version the RFT job pins to (never `$LATEST`, so a later
deploy cannot change the grader of a running job).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.constructs.python_function import PythonFunction
from stacks.reward_bundle import reward_bundle


class RewardFunction(Construct):
    """The reward Lambda. Attributes: `function`, `version` (published), `log_group`, `role`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec_path: Path,
        architecture: str,
        memory_mb: int,
        timeout_s: int,
        removal_policy: cdk.RemovalPolicy,
        reserved_concurrency: int = 0,
        environment: Mapping[str, str] | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        log_encryption_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        bundle = reward_bundle(spec_path)
        fn = PythonFunction(
            self,
            "Default",
            description=f"Nova RFT reward function (spec {spec_path.name})",
            role_description="Reward Lambda: writes its own logs, nothing else",
            handler=bundle.handler,
            packages=bundle.packages,
            extra_files=bundle.extra_files,
            requirements=bundle.requirements,
            architecture=architecture,
            memory_mb=memory_mb,
            timeout=cdk.Duration.seconds(timeout_s),
            # Batches graded at once (0: none reserved, the account's unreserved pool): bounds the judge's
            # fan-out on its quota (docs/judge.md, "Capacity").
            reserved_concurrency=reserved_concurrency or None,
            environment={**(environment or {}), "REWARD_SPEC": bundle.spec_in_bundle},
            log_retention=log_retention,
            removal_policy=removal_policy,
            log_encryption_key=log_encryption_key,
        )
        self.log_group, self.role, self.function = fn.log_group, fn.role, fn.function
        self.version: lambda_.IVersion = fn.version
