"""Shared fixtures: synthesized apps (synth is slow, so each variant is built once and shared).

`default_app` is the app exactly as `cdk synth` builds it with cdk.json's defaults, synthesized once per
test session. `synthesize(context, outdir)` builds and synthesizes a variant; module-scoped fixtures in
the test files use it. Synthesis runs the cdk-nag plugins that `build_app` registers, so any app these
return has no unacknowledged finding.
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


@pytest.fixture(scope="session")
def default_app(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    """The app with cdk.json's defaults, synthesized once per session."""
    return synthesize({}, tmp_path_factory.mktemp("default-cdk.out"))
