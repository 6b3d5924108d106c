"""The reward Lambda: the reward library and the chosen spec, bundled locally, with a published version.

The function (`python_function.PythonFunction`) gets its own role (it may write to its own log group and
nothing else), an explicit log group with retention, and `self.version` — the immutable version the RFT job pins to (never `$LATEST`, so a later
deploy cannot change the grader of a running job).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.constructs.python_function import PythonFunction

#: Where the Lambda sources live.
LAMBDA_SRC = Path(__file__).resolve().parents[2] / "lambda_src"

#: Top-level entries of lambda_src/ that are not reward code: the job starter and the code runner have
#: their own functions. The runner is left out on purpose: without it the reward Lambda cannot run a
#: model's program in its own process (with its credentials) even if CODE_RUNNER_FUNCTION were missing.
_NOT_REWARD_CODE = frozenset({"job_starter", "code_runner"})


def reward_code_paths(src: Path = LAMBDA_SRC) -> list[Path]:
    """The `reward` package plus every other top-level user module in `src` (custom graders), sorted.

    A custom grader `my_graders.py` (or package `my_graders/`) next to `reward/` is bundled, so a spec can
    use `function = "my_graders:score"`; the job starter and packaging metadata are left out.
    """
    paths = []
    for entry in sorted(src.iterdir()):
        if entry.name in _NOT_REWARD_CODE or entry.name.startswith((".", "_")):
            continue
        if (entry.is_dir() and (entry / "__init__.py").is_file()) or (
            entry.is_file() and entry.suffix == ".py"
        ):
            paths.append(entry)
    return paths


#: The handler string of the reward Lambda (module path inside the bundle, then the function).
REWARD_HANDLER = "reward.handler.lambda_handler"


@dataclass(frozen=True)
class RewardBundle:
    """What goes into the reward Lambda's bundle, and how the function finds the spec in it.

    The stack bundles exactly this (for the Lambda's Python and architecture); the bundle test builds the
    same inputs for the interpreter running the tests and runs them under AWS's runtime interface client.
    """

    packages: tuple[Path, ...]
    extra_files: Mapping[str, Path]
    requirements: Path
    #: `REWARD_SPEC` as the function sees it: relative to the task root (LAMBDA_TASK_ROOT).
    spec_in_bundle: str
    handler: str = REWARD_HANDLER


def reward_bundle(spec_path: Path, src: Path = LAMBDA_SRC) -> RewardBundle:
    """The reward bundle for `spec_path`: the reward code, the spec under `specs/`, the pinned wheels."""
    spec_in_bundle = f"specs/{spec_path.name}"
    return RewardBundle(
        packages=tuple(reward_code_paths(src)),
        extra_files={spec_in_bundle: spec_path},
        requirements=src / "reward" / "requirements.txt",
        spec_in_bundle=spec_in_bundle,
    )


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
