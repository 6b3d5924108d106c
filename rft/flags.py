"""Flags more than one command takes, declared once: ``--skip-invalid``, the sampling flags of ``rft
baseline`` and ``rft eval``, the target of ``deploy-model``/``undeploy-model``, and their checks.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any

from rft.aws import region_of
from rft.errors import CliError
from rft.sampling import InferenceSettings


def check_at_least_one(*flags: tuple[str, int | None]) -> None:
    """A usage error naming the first flag whose value is below 1 (``None`` = not given)."""
    for flag, value in flags:
        if value is not None and value < 1:
            raise CliError(f"{flag} {value}: must be >= 1")


def add_skip_invalid(parser: Any) -> None:
    """``--skip-invalid``: grade the valid records and exit 0 even when some were skipped."""
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="grade the valid records and exit 0 when some are invalid (default: exit 1, naming the first)",
    )


def add_sampling_flags(parser: argparse.ArgumentParser, *, default_out: str) -> None:
    """The flags ``baseline`` and ``eval`` share, one name per idea (defaults from cdk.json, shown in
    --help): the base model is ``--base`` in both (``--model``, baseline's older name, is an alias)."""
    parser.add_argument(
        "--base",
        "--model",
        dest="base",
        metavar="ID",
        help="the base model to sample (default: the inference profile of base_model_id in cdk.json)",
    )
    parser.add_argument(
        "--stack",
        metavar="NAME",
        help="name prefix of the deployed stacks (--remote, --via batch, eval's tuned model)",
    )
    parser.add_argument(
        "--remote",
        action="store_true",
        help="grade with the deployed reward Lambda of --stack instead of locally",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=default_out,
        help=f"reports and the response cache (default {default_out})",
    )
    parser.add_argument(
        "--via",
        choices=("runtime", "batch"),
        default="runtime",
        help="runtime: on-demand Converse calls (default); batch: one Bedrock batch inference job through "
        "the stacks of --stack (deployed with -c batch_inference=true), for thousands of prompts",
    )
    parser.add_argument(
        "--samples",
        type=int,
        metavar="K",
        help="responses per prompt (default: samples_per_prompt in cdk.json)",
    )
    parser.add_argument("--limit", type=int, metavar="N", help="use only the first N prompts")
    parser.add_argument(
        "--max-tokens",
        type=int,
        metavar="T",
        help="max tokens per response (default: inference_max_tokens in cdk.json)",
    )
    parser.add_argument(
        "--temperature", type=float, metavar="X", help="sampling temperature (default: the model's own)"
    )
    parser.add_argument(
        "--reasoning-effort",
        choices=("low", "high", "none"),
        help="extended thinking (default: reasoning_effort in cdk.json)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=8, metavar="C", help="model calls in flight (default 8)"
    )
    parser.add_argument("--region", help="AWS region (default: AWS_REGION, else region in cdk.json)")
    parser.add_argument("--json", action="store_true", help="print one JSON object (no progress bar)")
    parser.add_argument(
        "--yes", action="store_true", help="do not ask before spending (required when stdin is not a TTY)"
    )


def check_counts(args: argparse.Namespace) -> None:
    """The shared flags' usage errors, before anything is read, estimated or called."""
    if args.via == "batch" and not args.stack:
        raise CliError("--via batch needs --stack NAME: the stacks deployed with -c batch_inference=true")
    for flag, value in (
        ("--samples", args.samples),
        ("--limit", args.limit),
        ("--max-tokens", args.max_tokens),
        ("--concurrency", args.concurrency),
    ):
        if value is not None and value < 1:
            raise CliError(f"{flag} {value}: must be >= 1")
    if args.samples is not None and args.samples > 64:
        raise CliError(f"--samples {args.samples}: at most 64 responses per prompt")
    if args.concurrency > 256:
        raise CliError(f"--concurrency {args.concurrency}: at most 256 calls in flight")


def settings_from(args: argparse.Namespace, defaults: Mapping[str, Any]) -> InferenceSettings:
    effort = args.reasoning_effort or str(defaults.get("reasoning_effort") or "none")
    return InferenceSettings(
        max_tokens=args.max_tokens or int(defaults.get("inference_max_tokens") or 8192),
        reasoning_effort=effort,
        temperature=args.temperature,
    )


def samples_from(args: argparse.Namespace, defaults: Mapping[str, Any]) -> int:
    return args.samples or int(defaults.get("samples_per_prompt") or 4)


def region_from(args: argparse.Namespace, defaults: Mapping[str, Any]) -> str:
    """``--region``, else ``AWS_REGION``, else the training run's region in cdk.json (``rft.aws.region_of``
    for the rest)."""
    return region_of(args.region or os.environ.get("AWS_REGION") or defaults.get("region"))


def add_stack_target(parser: argparse.ArgumentParser, *, reads: str) -> Any:
    """What a command that talks to the deployed stacks works on: ``--stack PREFIX`` (the outputs of
    ``<PREFIX>-<reads>``) or the alternative the caller adds to the returned required group (``--job``,
    ``--function``, ...); and ``--region``."""
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--stack", metavar="PREFIX", help=f"name prefix of the deployed stacks (reads <PREFIX>-{reads})"
    )
    parser.add_argument("--region", help="AWS region (default: AWS_REGION, else us-east-1)")
    return target


def add_model_target(parser: argparse.ArgumentParser, *, deployment: bool = False) -> None:
    """The job whose custom model ``deploy-model``/``undeploy-model`` work on (``rft.models.job_of``)."""
    target = add_stack_target(parser, reads="training")
    target.add_argument(
        "--job-arn", "--job", dest="job_arn", metavar="ARN", help="the RFT job's ARN (or name)"
    )
    if deployment:
        target.add_argument("--deployment", metavar="ARN", help="a deployment's ARN or name")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
