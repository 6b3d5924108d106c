"""The package installs: a wheel whose only top-level package is ``nova_rft_kit`` (the generic names
``reward``, ``stacks``, ``rft``... stay inside it), whose ``rft`` command runs from a fresh venv, whose
declared dependencies cover every third-party import of the code it ships, and whose pins (constraints.txt)
are the requirements files' own."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = [
    ROOT / "rft",
    ROOT / "lambda_src" / "reward",
    ROOT / "lambda_src" / "code_runner",
    ROOT / "nova_rft_kit",
]
OURS = {"reward", "rft", "stacks", "code_runner", "job_starter", "nova_rft_kit", "examples_custom_reward"}
#: import name -> distribution, where they differ
DISTRIBUTIONS = {
    "aws_lambda_powertools": "aws-lambda-powertools",
    "math_verify": "math-verify",
    "latex2sympy2_extended": "math-verify",  # its dependency, through the [antlr4_13_2] extra
    "sympy": "math-verify",
    "yaml": "pyyaml",
}


def third_party_imports() -> set[str]:
    names: set[str] = set()
    stdlib = set(sys.stdlib_module_names)
    for folder in SHIPPED:
        for path in folder.rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    found = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found = [node.module]
                else:
                    continue
                for name in found:
                    top = name.split(".")[0]
                    if top not in stdlib and top not in OURS and top != "__future__":
                        names.add(top)
    return names


def test_declared_dependencies_cover_every_third_party_import():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {d.split("[")[0].split(">")[0].split("=")[0].strip().lower() for d in project["dependencies"]}
    missing = {
        name: DISTRIBUTIONS.get(name, name.replace("_", "-"))
        for name in third_party_imports()
        if DISTRIBUTIONS.get(name, name.replace("_", "-")).lower() not in declared
    }
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"
    assert "numpy" in declared


def test_constraints_are_the_requirements_pins():
    assert (
        subprocess.run([sys.executable, str(ROOT / "scripts" / "constraints.py"), "--check"]).returncode == 0
    ), "constraints.txt is out of date: run python scripts/constraints.py"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(ROOT), "-w", str(out)],
        check=True,
        capture_output=True,
        cwd=out,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    (found,) = out.glob("nova_rft_kit-*.whl")
    return found


def test_the_wheel_installs_one_top_level_package(wheel):
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert tops == {"nova_rft_kit", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}


def test_rft_runs_from_a_fresh_venv(wheel, tmp_path):
    """Installed without its dependencies (they come from this environment's site-packages through
    PYTHONPATH, which processes no .pth file, so the project's editable install cannot leak in): the
    wheel's own layout and entry point are what is tested; the dependency list is checked above."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # Without the tests' PYTHONPATH: the checkout's own *.egg-info would tell pip it is installed already.
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", str(wheel)],
        capture_output=True,
        text=True,
        env=clean,
    )
    assert installed.returncode == 0 and (venv / "bin" / "rft").is_file(), installed.stdout + installed.stderr
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"], "PYTHONNOUSERSITE": "1"}
    rft = venv / "bin" / "rft"
    version = subprocess.run([str(rft), "--version"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == "rft 0.1.0", version.stderr
    data = ROOT / "data" / "sample" / "train.jsonl"
    checked = subprocess.run(
        [str(rft), "validate-data", str(data)], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert checked.returncode == 0 and "0 errors, 0 warnings in 250 records" in checked.stdout, checked.stderr
    where = subprocess.run(
        [
            str(python),
            "-c",
            "import nova_rft_kit, sys; nova_rft_kit.use_libraries(); import reward; print(reward.__file__)",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert str(venv) in where.stdout, where  # the libraries came from the wheel, not from the checkout
