"""Bundle Python Lambda code on this machine, without Docker.

`python_lambda_code(...)` returns a `lambda_.Code` whose asset is built by `LocalPythonBundler.try_bundle`:
the given packages/modules copied as source (no `__pycache__`, no `.pyc`), extra files copied to fixed
paths, and the pinned requirements installed as *wheels for the Lambda platform* (manylinux, the target
architecture and Python version) with `pip install --target ... --only-binary=:all:`.

The pip output is cached in `.cache/bundles/<hash of requirements + platform + python>/` so that
repeated synths and the test suite do not reinstall; the asset hash is computed from the inputs, so a
changed source file, spec or requirement gives a new asset (and a new Lambda version) and nothing else does.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

from stacks.paths import PROJECT_ROOT

#: The pip cache lives under the project root and is gitignored.
CACHE_DIR = PROJECT_ROOT / ".cache" / "bundles"

#: The one Python runtime of every function of the kit (stacks/constructs/python_function.py), and the
#: Python version the wheels are chosen for.
LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_14
LAMBDA_PYTHON_VERSION = LAMBDA_RUNTIME.name.removeprefix("python")

#: Bump when the bundle layout changes, so old cached assets are not reused.
_BUNDLE_FORMAT = "1"

#: Lambda architecture name -> the manylinux machine name of its wheels.
_MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}

_IGNORED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
_IGNORED_SUFFIXES = (".pyc", ".pyo")


class BundlingError(RuntimeError):
    """Building a Lambda bundle failed (pip could not resolve a wheel, a source is missing, ...)."""


def platform_tags(architecture: str) -> tuple[str, ...]:
    """The pip `--platform` tags for a Lambda architecture.

    Both tags are needed: some wheels (e.g. rapidfuzz 3.14.6 for cp314) exist only as manylinux_2_28, others
    only as manylinux2014; Lambda's Amazon Linux 2023 (glibc 2.34) runs both.
    """
    try:
        machine = _MACHINES[architecture]
    except KeyError:
        raise BundlingError(
            f"unknown Lambda architecture {architecture!r}; use one of {sorted(_MACHINES)}"
        ) from None
    return (f"manylinux_2_28_{machine}", f"manylinux2014_{machine}")


def _source_files(root: Path) -> list[Path]:
    """Every file under `root` (or `root` itself) that belongs in a bundle, in a stable order."""
    if root.is_file():
        return [root]
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _IGNORED_DIRS and not d.endswith(".egg-info"))
        files.extend(Path(dirpath) / f for f in sorted(filenames) if not f.endswith(_IGNORED_SUFFIXES))
    return files


def _hash_update_file(digest: hashlib._Hash, name: str, path: Path) -> None:
    digest.update(name.encode() + b"\0")
    digest.update(hashlib.sha256(path.read_bytes()).digest())


def requirements_cache_key(requirements: Path, architecture: str, python_version: str) -> str:
    """The cache directory name for one pip install: what is installed, for which platform and Python."""
    digest = hashlib.sha256()
    digest.update(requirements.read_bytes())
    digest.update("\0".join((*platform_tags(architecture), "cp", python_version)).encode())
    return digest.hexdigest()[:32]


def _copy_tree(src: Path, dst: Path) -> None:
    """Copy `src` (a file or a directory) to `dst`, leaving out caches and byte code."""
    if src.is_file():
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
        return
    for file in _source_files(src):
        target = dst / file.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, target)


def _link_or_copy(src: str, dst: str) -> None:
    """Hard-link cached wheels' files into the bundle (fast, no extra disk); copy across file systems."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def installed_requirements(requirements: Path, architecture: str, python_version: str) -> Path:
    """Install `requirements` for the Lambda platform into the cache (once) and return the directory."""
    target = CACHE_DIR / requirements_cache_key(requirements, architecture, python_version)
    if target.is_dir():
        return target
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    # Install into a private temp dir and rename it into place: a concurrent synth (tests and the CLI
    # share the cache) never sees a half-installed directory.
    staging = Path(tempfile.mkdtemp(prefix="pip-", dir=CACHE_DIR))
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--requirement", str(requirements), "--target", str(staging)]
    for tag in platform_tags(architecture):
        command += ["--platform", tag]
    command += ["--implementation", "cp", "--python-version", python_version]
    command += ["--only-binary=:all:", "--no-compile"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise BundlingError(
            f"pip could not install {requirements} for Lambda "
            f"({architecture}, Python {python_version}):\n{result.stderr.strip()}\n"
            "Every requirement needs a binary wheel for this platform; pin a version that has one."
        )
    try:
        staging.rename(target)
    except OSError:
        # Someone else finished first: theirs is identical.
        shutil.rmtree(staging, ignore_errors=True)
    return target


@jsii.implements(cdk.ILocalBundling)
class LocalPythonBundler:
    """`ILocalBundling` that assembles a Python Lambda bundle with the local interpreter and pip."""

    def __init__(
        self,
        *,
        packages: Sequence[Path],
        extra_files: Mapping[str, Path],
        requirements: Path | None,
        architecture: str,
        python_version: str = LAMBDA_PYTHON_VERSION,
    ) -> None:
        self.packages = tuple(packages)
        self.extra_files = dict(extra_files)
        self.requirements = requirements
        self.architecture = architecture
        self.python_version = python_version

    def try_bundle(self, output_dir: str, *args: object, **kwargs: object) -> bool:
        """Write the bundle into `output_dir`; True tells CDK not to fall back to Docker."""
        out = Path(output_dir)
        if self.requirements is not None:
            deps = installed_requirements(self.requirements, self.architecture, self.python_version)
            shutil.copytree(deps, out, dirs_exist_ok=True, copy_function=_link_or_copy)
        # Our own code goes in after the dependencies, so it wins over a same-named distribution.
        for package in self.packages:
            target = out / package.name
            if target.exists():
                shutil.rmtree(target) if target.is_dir() else target.unlink()
            _copy_tree(package, target)
        for relative, source in self.extra_files.items():
            _copy_tree(source, out / relative)
        return True


def host_architecture() -> str:
    """The Lambda architecture name of this machine ("x86_64" or "arm64").

    For tests that run a bundle here (see `bundle_into`): the stacks always bundle for the function's
    configured architecture.
    """
    machine = platform.machine().lower()
    for architecture, wheel_machine in _MACHINES.items():
        if machine in (architecture, wheel_machine, "amd64" if architecture == "x86_64" else architecture):
            return architecture
    raise BundlingError(f"no Lambda architecture matches this machine ({platform.machine()})")


def bundle_into(
    output_dir: Path,
    *,
    packages: Sequence[Path],
    extra_files: Mapping[str, Path] | None = None,
    requirements: Path | None = None,
    architecture: str,
    python_version: str = LAMBDA_PYTHON_VERSION,
) -> Path:
    """Build a bundle into `output_dir` exactly as CDK's local bundling does, without CDK; returns it.

    The test-only way to get a bundle that runs on this machine: pass `host_architecture()` and this
    interpreter's `major.minor` (the deployed function's bundle is for the Lambda runtime's Python, which
    may not be installed here).
    """
    platform_tags(architecture)
    output_dir.mkdir(parents=True, exist_ok=True)
    LocalPythonBundler(
        packages=packages,
        extra_files=dict(extra_files or {}),
        requirements=requirements,
        architecture=architecture,
        python_version=python_version,
    ).try_bundle(str(output_dir))
    return output_dir


def bundle_hash(
    *,
    packages: Sequence[Path],
    extra_files: Mapping[str, Path],
    requirements: Path | None,
    architecture: str,
    python_version: str = LAMBDA_PYTHON_VERSION,
) -> str:
    """A hash of everything that goes into the bundle (the asset hash; it names the asset in S3)."""
    digest = hashlib.sha256(f"bundle-format={_BUNDLE_FORMAT}\0".encode())
    for package in packages:
        for file in _source_files(package):
            name = package.name if file == package else f"{package.name}/{file.relative_to(package)}"
            _hash_update_file(digest, name, file)
    for relative, source in sorted(extra_files.items()):
        for file in _source_files(source):
            name = relative if file == source else f"{relative}/{file.relative_to(source)}"
            _hash_update_file(digest, name, file)
    if requirements is not None:
        digest.update(b"requirements\0")
        digest.update(requirements_cache_key(requirements, architecture, python_version).encode())
    return digest.hexdigest()


def python_lambda_code(
    *,
    packages: Sequence[Path],
    extra_files: Mapping[str, Path] | None = None,
    requirements: Path | None = None,
    architecture: str,
    python_version: str = LAMBDA_PYTHON_VERSION,
) -> lambda_.Code:
    """Lambda code built locally from Python source and pinned wheels.

    Args:
        packages: package directories (with `__init__.py`) or single `.py` modules; each lands at the top
            of the bundle under its own name, so `import <name>` works in the Lambda.
        extra_files: bundle-relative path -> local file (or directory) to copy there, e.g.
            `{"specs/gsm8k.toml": Path("reward_specs/gsm8k.toml")}`.
        requirements: a pinned requirements file installed as wheels for the Lambda platform, or None.
        architecture: "arm64" or "x86_64" (the function's architecture; wheels must match it).
        python_version: the Lambda runtime's Python version.
    """
    extra = dict(extra_files or {})
    missing = [
        p for p in [*packages, *extra.values(), *([requirements] if requirements else [])] if not p.exists()
    ]
    if missing:
        raise BundlingError(f"cannot bundle Lambda code: {', '.join(map(str, missing))} not found")
    platform_tags(architecture)  # fail early on a bad architecture, before any pip run
    bundler = LocalPythonBundler(
        packages=packages,
        extra_files=extra,
        requirements=requirements,
        architecture=architecture,
        python_version=python_version,
    )
    asset_hash = bundle_hash(
        packages=packages,
        extra_files=extra,
        requirements=requirements,
        architecture=architecture,
        python_version=python_version,
    )
    # The asset "source" only anchors the bundling; the custom hash above covers every input (the spec
    # and requirements live outside it), and the output is whatever try_bundle writes.
    source = packages[0] if packages[0].is_dir() else packages[0].parent
    return lambda_.Code.from_asset(
        str(source),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        asset_hash=asset_hash,
        bundling=cdk.BundlingOptions(
            # Never pulled: local bundling always succeeds or raises. CDK requires an image regardless.
            image=cdk.DockerImage.from_registry("local-bundling-only"),
            local=bundler,
        ),
    )
