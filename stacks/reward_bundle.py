"""What goes into the reward Lambda's bundle: the reward library, the custom grader modules beside it, the
chosen spec and the pinned wheels (no CDK import: the synth-time spec check and the bundle test use it too;
``stacks/constructs/reward_function.py`` deploys it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from stacks.paths import LAMBDA_SRC

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
