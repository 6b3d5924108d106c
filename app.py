#!/usr/bin/env python3
"""The CDK app: validated config -> data, reward and training stacks, with cdk-nag as a synth gate.

Run through the CDK CLI (`npx cdk synth`, `make synth`); `-c key=value` overrides any key of cdk.json's
"context" (see stacks/config.py). A bad value stops synth with a message saying what to type instead.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import cdk_nag

from stacks.config import Config, ConfigError, load_config
from stacks.data_stack import DataStack
from stacks.paths import cdk_json_context
from stacks.reward_stack import RewardStack
from stacks.training_stack import TrainingStack


@dataclass(frozen=True)
class NovaRftApp:
    """The app and what it is made of (tests inspect the stacks)."""

    app: cdk.App
    config: Config
    data: DataStack
    reward: RewardStack
    training: TrainingStack

    @property
    def stacks(self) -> tuple[cdk.Stack, ...]:
        return (self.data, self.reward, self.training)


def build_app(context: dict[str, Any] | None = None, *, outdir: str | None = None) -> NovaRftApp:
    """Build the whole app. `context` overrides cdk.json (like `-c`); the CLI's own `-c` wins over both.

    Raises ConfigError for an invalid context value.
    """
    app = cdk.App(context={**cdk_json_context(), **(context or {})}, outdir=outdir)
    config = load_config(app.node)
    prefix = config.name_prefix
    env = config.env
    data = DataStack(app, f"{prefix}-data", config=config, env=env, description="Nova RFT Kit: datasets")
    reward = RewardStack(
        app,
        f"{prefix}-reward",
        config=config,
        encryption_key=data.encryption_key,
        env=env,
        description="Nova RFT Kit: the reward Lambda",
    )
    training = TrainingStack(
        app,
        f"{prefix}-training",
        config=config,
        data=data,
        reward=reward,
        env=env,
        description="Nova RFT Kit: the RFT job, its role and notifications",
    )
    stacks = {"data": data, "reward": reward, "training": training}
    for stack in stacks.values():
        cdk.Tags.of(stack).add("project", "nova-rft-kit")
        cdk.Tags.of(stack).add("nova-rft:prefix", prefix)
    # cdk-nag v3 is a validation plugin: any unacknowledged finding fails synth (exit 1 / app.synth() raises).
    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(), cdk_nag.ServerlessChecks())
    return NovaRftApp(app=app, config=config, data=data, reward=reward, training=training)


def main() -> int:
    try:
        built = build_app()
    except ConfigError as error:
        # A user error, not a crash: no traceback, just what to change.
        print(f"\nConfiguration error (cdk.json context / -c flags):\n\n{error}\n", file=sys.stderr)
        return 1
    report_warnings(built.config)
    built.app.synth()
    return 0


def report_warnings(config: Config, stream: Any = None) -> None:
    """Print each config warning (dataset findings, questionable hyperparameters) as one line on stderr.

    Printed by the app rather than added as CDK annotations: the CDK CLI shows an annotation as a
    three-line block with a construct path and an `Annotation::` acknowledgment that only code can give;
    these are about the user's files and flags, and `-c acknowledge_warnings=<id>` silences them.
    """
    out = stream if stream is not None else sys.stderr
    for warning in config.warnings:
        print(warning.line(), file=out)


if __name__ == "__main__":
    sys.exit(main())
