"""The reward stack: a locally bundled Python 3.14 Lambda with its spec, its own role and log group, and a
published version for the job to pin."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacks.config import PROJECT_ROOT
from stacks.constructs.local_bundling import BundlingError, bundle_hash, platform_tags, python_lambda_code
from stacks.paths import LAMBDA_SRC
from stacks.reward_bundle import reward_code_paths
from tests.conftest import Apps, SynthesizedApp

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def x86(apps: Apps) -> SynthesizedApp:
    """x86_64 with more memory and a longer timeout."""
    return apps["x86"]


def function_props(app: SynthesizedApp) -> dict:
    return app.only("reward", "AWS::Lambda::Function")[1]["Properties"]


def bundle_dir(app: SynthesizedApp) -> Path:
    key = function_props(app)["Code"]["S3Key"]
    path = app.outdir / f"asset.{key.removesuffix('.zip')}"
    assert path.is_dir(), path
    return path


def test_runtime_architecture_memory_and_timeout(default_app: SynthesizedApp) -> None:
    """The newest Python runtime; arm64 by default; memory and timeout from context."""
    props = function_props(default_app)
    assert props["Runtime"] == "python3.14"
    assert props["Architectures"] == ["arm64"]
    assert props["MemorySize"] == 1024
    assert props["Timeout"] == 300
    assert props["Handler"] == "reward.handler.lambda_handler"
    assert (
        props["ReservedConcurrentExecutions"] == 100
    )  # reward_reserved_concurrency: bounds the judge fan-out


def test_context_sets_architecture_memory_and_timeout(x86: SynthesizedApp) -> None:
    """architecture, reward_memory_mb and reward_timeout_s reach the function."""
    props = function_props(x86)
    assert (props["Architectures"], props["MemorySize"], props["Timeout"]) == (["x86_64"], 2048, 600)
    assert "ReservedConcurrentExecutions" not in props  # reward_reserved_concurrency=0: no reservation


def test_reward_spec_points_at_the_bundled_spec(default_app: SynthesizedApp) -> None:
    """REWARD_SPEC is relative to the task root, where the bundle puts the chosen spec."""
    props = function_props(default_app)
    assert props["Environment"]["Variables"]["REWARD_SPEC"] == "specs/gsm8k.toml"
    bundled = bundle_dir(default_app) / "specs" / "gsm8k.toml"
    assert bundled.read_bytes() == (PROJECT_ROOT / "reward_specs" / "gsm8k.toml").read_bytes()


def test_bundle_holds_the_reward_library_and_wheels_but_no_byte_code_or_job_starter(
    default_app: SynthesizedApp,
) -> None:
    """Only what the grader runs: our package, its pinned deps for Linux, no caches, no starter."""
    bundle = bundle_dir(default_app)
    assert (bundle / "reward" / "handler.py").is_file()
    assert (bundle / "rapidfuzz").is_dir() and (bundle / "math_verify").is_dir()
    assert not (bundle / "job_starter").exists()
    assert not list(bundle.glob("*.egg-info"))
    assert not list(bundle.rglob("__pycache__")) and not list(bundle.rglob("*.pyc"))


def test_compiled_wheels_match_the_architecture(default_app: SynthesizedApp, x86: SynthesizedApp) -> None:
    """An x86 .so in an arm64 function fails only at import time, in AWS: check the machine names."""
    for app, machine in ((default_app, "aarch64"), (x86, "x86_64")):
        extensions = [p.name for p in (bundle_dir(app) / "rapidfuzz").rglob("*.so")]
        assert extensions and all(machine in name and "cpython-314" in name for name in extensions), (
            extensions
        )


def test_the_role_may_only_write_its_own_logs(default_app: SynthesizedApp) -> None:
    """No managed policy (AWSLambdaBasicExecutionRole allows every log group): its log group only."""
    role_id, role = default_app.only("reward", "AWS::IAM::Role")
    assert "ManagedPolicyArns" not in role["Properties"]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]
    log_group_id, _ = default_app.only("reward", "AWS::Logs::LogGroup")
    _, policy = default_app.only("reward", "AWS::IAM::Policy")
    assert policy["Properties"]["Roles"] == [{"Ref": role_id}]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Sid": "WriteOwnLogs",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]},
        }
    ]
    assert function_props(default_app)["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}


def test_log_group_has_retention_and_is_the_functions(default_app: SynthesizedApp) -> None:
    """Logs expire after a month and go to the group the role may write."""
    log_group_id, log_group = default_app.only("reward", "AWS::Logs::LogGroup")
    assert log_group["Properties"]["RetentionInDays"] == 30
    assert log_group["DeletionPolicy"] == "Retain"
    assert function_props(default_app)["LoggingConfig"]["LogGroup"] == {"Ref": log_group_id}


def test_a_version_is_published_and_output(default_app: SynthesizedApp) -> None:
    """The job pins an immutable version; old versions are kept for jobs still running on them."""
    function_id, _ = default_app.only("reward", "AWS::Lambda::Function")
    version_id, version = default_app.only("reward", "AWS::Lambda::Version")
    assert version["Properties"]["FunctionName"] == {"Ref": function_id}
    assert version["DeletionPolicy"] == "Retain"
    outputs = default_app.templates["reward"]["Outputs"]
    assert outputs["RewardFunctionVersionArn"]["Value"] == {"Ref": version_id}
    assert outputs["RewardFunctionName"]["Value"] == {"Ref": function_id}
    assert outputs["RewardFunctionArn"]["Value"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert default_app.built.reward.spec.name == "gsm8k"


# --- the bundler ------------------------------------------------------------------------------------------


def test_reward_code_is_the_reward_package_and_custom_modules(tmp_path: Path) -> None:
    """Custom graders next to reward/ are bundled; the job starter and metadata are not."""
    for name in ("reward", "job_starter", "my_graders_pkg"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / "my_graders.py").write_text("")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "nova_rft_kit.egg-info").mkdir()
    assert [p.name for p in reward_code_paths(tmp_path)] == ["my_graders.py", "my_graders_pkg", "reward"]
    assert "reward" in [p.name for p in reward_code_paths()]  # the repository's own bundle has it


def test_bundle_hash_follows_code_spec_and_platform(tmp_path: Path) -> None:
    """A changed spec or architecture must give a new asset (a new Lambda version); byte code must not."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("x = 1\n")
    spec = tmp_path / "spec.toml"
    spec.write_text('name = "a"\n')
    requirements = LAMBDA_SRC / "reward" / "requirements.txt"

    def digest(architecture: str = "arm64") -> str:
        return bundle_hash(
            packages=[package],
            extra_files={"specs/spec.toml": spec},
            requirements=requirements,
            architecture=architecture,
        )

    first = digest()
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    assert digest() == first
    assert digest("x86_64") != first
    spec.write_text('name = "b"\n')
    assert digest() != first


def test_platform_tags_cover_both_manylinux_generations() -> None:
    """Some wheels exist only as manylinux_2_28 (rapidfuzz for cp314), others only as manylinux2014."""
    assert platform_tags("arm64") == ("manylinux_2_28_aarch64", "manylinux2014_aarch64")
    assert platform_tags("x86_64") == ("manylinux_2_28_x86_64", "manylinux2014_x86_64")
    with pytest.raises(BundlingError, match="arm"):
        platform_tags("arm")


def test_missing_sources_fail_before_bundling(tmp_path: Path) -> None:
    """A typo in a path is reported by name, not as a pip or CDK stack trace."""
    with pytest.raises(BundlingError, match="nope"):
        python_lambda_code(packages=[tmp_path / "nope"], architecture="arm64")
