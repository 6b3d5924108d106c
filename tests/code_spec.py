"""A reward spec that uses the `code` grader, and a code-runner package to bundle, for synth tests.

    with code_spec() as (spec, training_data):
        synthesize({"reward_spec": str(spec), "training_data": str(training_data)}, outdir)

Inside the block the spec loads and the runner bundles whether or not the real `code` grader and
`lambda_src/code_runner` are in this tree: with them, the shipped `reward_specs/code.toml` over
`data/code/train.jsonl`; without them, a fixture spec graded by a stand-in registered under the name
`code`, and a stand-in runner package. The stacks see the grader's *name* either way, which is all they
decide on (`Spec.uses_code`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from unittest import mock

from reward.event import Sample
from reward.graders import BUILTIN_GRADERS
from reward.graders.base import Grader
from reward.results import Grade

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_SPEC = ROOT / "reward_specs" / "code.toml"
SHIPPED_DATA = ROOT / "data" / "code" / "train.jsonl"
STAND_IN_SPEC = ROOT / "tests" / "fixtures" / "specs" / "code_stand_in.toml"
STAND_IN_RUNNER = ROOT / "tests" / "fixtures" / "runner_stub" / "code_runner"
SAMPLE_DATA = ROOT / "data" / "sample" / "train.jsonl"


class StandInCodeGrader(Grader):
    """Registered as `code` only while the real grader is missing; never grades anything in these tests."""

    name = "code"

    def grade(self, sample: Sample) -> Grade:
        return Grade.error("stand-in code grader: synth tests only")


def real_code_grader() -> bool:
    """True when this tree has the real code grader and its shipped spec."""
    return BUILTIN_GRADERS.get("code", "").startswith("reward.") and SHIPPED_SPEC.is_file()


@contextmanager
def code_spec() -> Iterator[tuple[Path, Path]]:
    """(spec, training data) of a code-graded deployment; stand-ins registered for the block if needed."""
    from stacks.constructs import code_sandbox

    with ExitStack() as stack:
        if real_code_grader():
            spec, data = SHIPPED_SPEC, SHIPPED_DATA if SHIPPED_DATA.is_file() else SAMPLE_DATA
        else:
            stack.enter_context(
                mock.patch.dict(BUILTIN_GRADERS, {"code": "tests.code_spec:StandInCodeGrader"})
            )
            spec, data = STAND_IN_SPEC, SAMPLE_DATA
        if not code_sandbox.CODE_RUNNER_SRC.is_dir():
            stack.enter_context(mock.patch.object(code_sandbox, "CODE_RUNNER_SRC", STAND_IN_RUNNER))
        yield spec, data
