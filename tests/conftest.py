"""Shared fixtures: synthesized apps, each named variant built once per session and shared.

`VARIANTS` is the one registry of the app variants the tests synthesize (a name -> `-c` context overrides);
the session fixture `apps` builds a variant the first time a test asks for it (`apps["kms"]`) and hands
the same `SynthesizedApp` to every later test (per pytest-xdist worker). `default_app` is `apps["default"]`,
the app exactly as `cdk synth` builds it with cdk.json's defaults. Synthesis runs the cdk-nag plugins that
`build_app` registers, so any app these return has no unacknowledged finding. A test that needs files of
its own (a dataset written to tmp_path) calls `synthesize(context, outdir)` directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # CDK is imported by the tests that synthesize, not by every unit test (~2 s each run)
    from aws_cdk.assertions import Template

    from app import NovaRftApp

ROOT = Path(__file__).resolve().parents[1]
# Subprocesses the tests start (``python -m rft.cli``, ``python -c "import reward..."``) find the project as
# pytest does (pyproject.toml's pythonpath), not through the editable install: the installed package keeps
# the libraries under nova_rft_kit/ (tests/test_packaging.py).
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT), str(ROOT / "lambda_src"), *filter(None, [os.environ.get("PYTHONPATH")])]
)


@dataclass
class SynthesizedApp:
    """A built and synthesized app with its templates by stack role ("data", "reward", "training")."""

    built: NovaRftApp
    outdir: Path
    templates: dict[str, dict[str, Any]]

    def template(self, which: str) -> Template:
        """An assertions `Template` of one stack."""
        from aws_cdk.assertions import Template

        return Template.from_json(self.templates[which])

    def resources(self, which: str, type_: str) -> dict[str, dict[str, Any]]:
        """Resources of one CloudFormation type in one stack, by logical id."""
        return {k: v for k, v in self.templates[which]["Resources"].items() if v["Type"] == type_}

    def only(self, which: str, type_: str) -> tuple[str, dict[str, Any]]:
        """The single resource of a type in a stack (fails if there are none or several)."""
        found = self.resources(which, type_)
        assert len(found) == 1, f"expected one {type_} in {which}, found {sorted(found)}"
        return next(iter(found.items()))

    def logical_id(self, construct: Any) -> str:
        """The logical id of an L2 (its default child) or L1 construct."""
        cfn = getattr(construct.node, "default_child", None) or construct
        return cfn.stack.resolve(cfn.stack.get_logical_id(cfn))


def synthesize(context: dict[str, Any], outdir: Path) -> SynthesizedApp:
    """Build the app with `context` overrides (like `-c`) and synthesize it (running cdk-nag)."""
    from app import build_app

    built = build_app(context, outdir=str(outdir))
    assembly = built.app.synth()  # raises on any unacknowledged cdk-nag finding
    roles = {"data": built.data, "reward": built.reward, "training": built.training}
    templates = {role: assembly.get_stack_by_name(stack.stack_name).template for role, stack in roles.items()}
    return SynthesizedApp(built=built, outdir=outdir, templates=templates)


EMAIL = "ml-team@example.com"
SUPPORT = {
    "reward_spec": "reward_specs/support_rubric.toml",
    "training_data": "data/support/train.jsonl",
    "validation_data": "data/support/validation.jsonl",
}
CODE = {"reward_spec": "reward_specs/code.toml", "training_data": "data/code/train.jsonl"}

#: Every app variant the tests synthesize, by name: the context overrides (`-c key=value`) of each.
VARIANTS: dict[str, dict[str, str]] = {
    # cdk.json's defaults: gsm8k (no judge), S3-managed encryption, no job, no email, data retained.
    "default": {},
    "started": {"start_job": "true"},
    # A customer KMS key, an email subscription, data deleted with the stacks; no job.
    "kms": {"encryption": "kms", "notification_email": EMAIL, "retain_data": "false"},
    "started_kms": {"start_job": "true", "encryption": "kms", "notification_email": EMAIL},
    "x86": {
        "architecture": "x86_64",
        "reward_memory_mb": "2048",
        "reward_timeout_s": "600",
        "reward_reserved_concurrency": "0",
    },
    "no_validation": {"validation_data": ""},
    # A judge spec with a KMS key, an email, a started job, auto-delete, a longer timeout and thresholds.
    "judge": {
        **SUPPORT,
        "encryption": "kms",
        "notification_email": EMAIL,
        "start_job": "true",
        "retain_data": "false",
        "reward_timeout_s": "600",
        "alarm_non_ok_rate": "0.1",
        "alarm_judge_throttle_rate": "0.3",
    },
    # The code spec (the sandbox's VPC and runner) with non-default runner settings.
    "code": {
        **CODE,
        "code_runner_memory_mb": "3008",
        "code_runner_timeout_s": "90",
        "code_runner_reserved_concurrency": "25",
    },
    # Every optional resource at once (the wildcard walk): code spec, job, batch role, KMS, auto-delete, email.
    "everything": {
        **CODE,
        "start_job": "true",
        "batch_inference": "true",
        "encryption": "kms",
        "retain_data": "false",
        "notification_email": EMAIL,
    },
}


class Apps:
    """The registry's apps, each synthesized on first use and kept for the session."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self._built: dict[str, SynthesizedApp] = {}

    def __getitem__(self, name: str) -> SynthesizedApp:
        if name not in self._built:
            self._built[name] = synthesize(VARIANTS[name], self._tmp.mktemp(f"{name}-cdk.out"))
        return self._built[name]


@pytest.fixture(scope="session")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Apps:
    """The synthesized variants of `VARIANTS`, by name."""
    return Apps(tmp_path_factory)


@pytest.fixture(scope="session")
def default_app(apps: Apps) -> SynthesizedApp:
    """The app with cdk.json's defaults, synthesized once per session."""
    return apps["default"]
