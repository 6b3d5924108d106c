"""`cdk.json`'s app command: `npx cdk synth` in a new shell uses the project's virtualenv, activated or not.

`scripts/cdk-app` runs `app.py` with `<project>/.venv/bin/python` (or `NOVA_RFT_PYTHON`); without it, one
line says to run `make setup`, exit 1. Checked here on copies of the script in a scratch project, with a
PATH that holds no virtualenv (a real `npx cdk synth` that way takes minutes; `make test` runs one).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from stacks.config import PROJECT_ROOT

LAUNCHER = PROJECT_ROOT / "scripts" / "cdk-app"
BARE_PATH = "/usr/bin:/bin"  # no virtualenv, no node_modules/.bin


def project(tmp_path: Path, *, venv: bool) -> Path:
    """A scratch project: the launcher, an app.py that reports how it was run, and optionally a .venv."""
    root = tmp_path / "project with spaces"
    (root / "scripts").mkdir(parents=True)
    shutil.copy2(LAUNCHER, root / "scripts" / "cdk-app")
    (root / "app.py").write_text(
        "import json, os, sys\n"
        "print(json.dumps({'python': sys.executable, 'argv': sys.argv[1:], 'cwd': os.getcwd()}))\n"
    )
    if venv:
        (root / ".venv" / "bin").mkdir(parents=True)
        (root / ".venv" / "bin" / "python").symlink_to(sys.executable)
    return root


def run_launcher(root: Path, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the launcher as the CDK CLI runs cdk.json's "app": through the shell, from the project root."""
    app = json.loads((PROJECT_ROOT / "cdk.json").read_text())["app"]
    return subprocess.run(
        app,
        shell=True,
        cwd=cwd,
        env={"PATH": BARE_PATH, "HOME": os.environ.get("HOME", "/tmp"), **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_launcher_runs_app_py_with_the_projects_venv(tmp_path: Path) -> None:
    root = project(tmp_path, venv=True)
    result = run_launcher(root, root)
    assert result.returncode == 0, result.stderr
    ran = json.loads(result.stdout)
    assert ran["python"] == str(root / ".venv" / "bin" / "python")


def test_without_a_venv_it_says_to_run_make_setup_in_one_line(tmp_path: Path) -> None:
    root = project(tmp_path, venv=False)
    result = run_launcher(root, root)
    assert result.returncode == 1 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "run `make setup`" in line and str(root / ".venv") in line


def test_nova_rft_python_overrides_the_interpreter(tmp_path: Path) -> None:
    root = project(tmp_path, venv=False)
    result = run_launcher(root, root, NOVA_RFT_PYTHON=sys.executable)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["python"] == sys.executable


def test_the_launcher_is_executable_and_posix_sh() -> None:
    assert os.access(LAUNCHER, os.X_OK)
    assert LAUNCHER.read_text().startswith("#!/bin/sh\n")
    checked = subprocess.run(["sh", "-n", str(LAUNCHER)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
