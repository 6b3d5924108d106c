"""The CLI never shows a traceback for a user error: one line on stderr naming the file/line/key, exit 2.

Every subcommand loads its spec and data inside `rft.cli.main`'s error handling (`rft.errors.user_error`), so
a broken spec, a missing file, malformed JSONL or a bad flag is the same kind of answer whichever command
meets it. A grader that cannot grade (a judge without credentials or permission) is said once, with the
first failure's reason, and fails the command.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rft.cli import build_parser, main
from rft.commands import score as score_command
from rft.errors import CliError, user_error
from stacks.config import PROJECT_ROOT
from tests.bedrock_emulator import Script, bedrock_emulator

GSM8K = str(PROJECT_ROOT / "reward_specs" / "gsm8k.toml")
SUPPORT_SPEC = str(PROJECT_ROOT / "reward_specs" / "support_rubric.toml")
TRAIN = str(PROJECT_ROOT / "data" / "sample" / "train.jsonl")
SUPPORT_TRAIN = str(PROJECT_ROOT / "data" / "support" / "train.jsonl")


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def unknown_grader(tmp_path: Path) -> str:
    spec = tmp_path / "unknown.toml"
    spec.write_text('[[dimensions]]\nname = "c"\ngrader = "numerik"\n')
    return str(spec)


@pytest.fixture
def broken_toml(tmp_path: Path) -> str:
    spec = tmp_path / "broken.toml"
    spec.write_text('[[dimensions]\nname = "c"\n')
    return str(spec)


@pytest.fixture
def malformed_jsonl(tmp_path: Path) -> str:
    data = tmp_path / "malformed.jsonl"
    data.write_text('{"messages": [\nnot json at all\n')
    return str(data)


# Each subcommand that reads a spec or a dataset, with "{spec}" / "{data}" where those go.
SPEC_AND_DATA = {
    "score": ["score", "--spec", "{spec}", "--data", "{data}"],
    "probe": ["probe", "--spec", "{spec}", "--data", "{data}"],
    "invoke": ["invoke", "--function", "reward-fn", "--spec", "{spec}", "--data", "{data}"],
}


def argv_for(command: str, spec: str, data: str) -> list[str]:
    return [a.format(spec=spec, data=data) for a in SPEC_AND_DATA[command]]


def assert_one_line_error(code: int, err: str, *, command: str, expected_code: int = 2) -> str:
    assert code == expected_code, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"rft {command}: error: ")
    return lines[0]


@pytest.mark.parametrize("command", sorted(SPEC_AND_DATA))
def test_a_spec_with_an_unknown_grader_is_one_line_and_exit_2(command: str, unknown_grader: str) -> None:
    code, _, err = run(*argv_for(command, unknown_grader, TRAIN))
    line = assert_one_line_error(code, err, command=command)
    assert f"{unknown_grader}: dimensions[0] (c).grader: unknown grader 'numerik'" in line


@pytest.mark.parametrize("command", sorted(SPEC_AND_DATA))
def test_invalid_toml_names_the_file_and_line(command: str, broken_toml: str) -> None:
    code, _, err = run(*argv_for(command, broken_toml, TRAIN))
    line = assert_one_line_error(code, err, command=command)
    assert f"{broken_toml}: invalid TOML" in line and "line 1" in line


@pytest.mark.parametrize("command", sorted(SPEC_AND_DATA))
def test_a_missing_spec_or_data_file_is_one_line_and_exit_2(command: str, tmp_path: Path) -> None:
    code, _, err = run(*argv_for(command, str(tmp_path / "none.toml"), TRAIN))
    assert "none.toml" in assert_one_line_error(code, err, command=command)
    code, _, err = run(*argv_for(command, GSM8K, str(tmp_path / "none.jsonl")))
    assert "none.jsonl: no such dataset file" in assert_one_line_error(code, err, command=command)


@pytest.mark.parametrize("command", sorted(SPEC_AND_DATA))
def test_a_dataset_with_no_valid_record_is_one_line_and_exit_2(command: str, malformed_jsonl: str) -> None:
    code, _, err = run(*argv_for(command, GSM8K, malformed_jsonl))
    assert code == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    # One line: how many were invalid and the first, then what to run (no warning before it).
    assert lines == [
        f"rft {command}: error: {malformed_jsonl}: no valid records to grade (2 invalid, the first on line 1); "
        f"run `rft validate-data {malformed_jsonl}`"
    ]


def test_validate_data_reports_malformed_lines_as_findings(malformed_jsonl: str) -> None:
    """validate-data's job is finding data errors: they are its output (exit 1), never a traceback."""
    code, out, err = run("validate-data", malformed_jsonl)
    assert code == 1 and err == ""
    assert (
        f"{malformed_jsonl}:1: error invalid-json" in out
        and f"{malformed_jsonl}:2: error invalid-json" in out
    )


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["score", "--spec", GSM8K, "--data", TRAIN, "--batch", "0"], "--batch"),
        (["probe", "--spec", GSM8K, "--data", TRAIN, "--threshold", "2"], "--threshold"),
        (["invoke", "--function", "f", "--data", TRAIN, "-n", "0"], "-n"),
        (["status", "--job", "j", "--interval", "0"], "--interval"),
        (["validate-data", "--role", "training", "--min-rows", "-1", TRAIN], "--min-rows"),
        (["score", "--spec", GSM8K], "--data"),
        (["score", "--spec", GSM8K, "--data", TRAIN, "--batch", "many"], "--batch"),
        (["no-such-command"], "no-such-command"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(argv: list[str], names: str) -> None:
    code, _, err = run(*argv)
    assert code == 2 and "Traceback" not in err
    assert names in err


def test_an_unwritable_out_dir_is_a_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run(
        "score", "--spec", GSM8K, "--data", TRAIN, "--limit", "2", "--out", str(blocker / "sub")
    )
    assert code == 2 and "Traceback" not in err and str(blocker) in err


def test_an_unexpected_exception_is_one_line_unless_debugging(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug is still not a wall of text; RFT_DEBUG=1 shows its traceback."""

    def explode(*_: object, **__: object) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(score_command, "load_rows", explode)
    code, _, err = run("score", "--spec", GSM8K, "--data", TRAIN)
    line = assert_one_line_error(
        code, err.replace(": internal error:", ": error:"), command="score", expected_code=1
    )
    assert "ZeroDivisionError: boom" in line and "RFT_DEBUG=1" in line
    monkeypatch.setenv("RFT_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["score", "--spec", GSM8K, "--data", TRAIN], out=io.StringIO(), err=io.StringIO())


def test_user_error_maps_library_and_aws_errors() -> None:
    from botocore.exceptions import ClientError, NoCredentialsError

    from reward.spec import SpecError

    assert user_error(SpecError("a.toml: x\nmore")).args[0] == "a.toml: x; more"
    missing = user_error(FileNotFoundError(2, "No such file or directory", "data.jsonl"))
    assert (str(missing), missing.code) == ("data.jsonl: No such file or directory", 2)
    no_credentials = user_error(NoCredentialsError())
    assert no_credentials.code == 1 and "no AWS credentials" in str(no_credentials)
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "Converse")
    assert str(user_error(denied)) == "Converse: AccessDeniedException: not allowed"
    assert user_error(ZeroDivisionError()) is None


# ------------------------------------------------------------------ a judge that cannot judge


def test_a_judge_spec_without_credentials_says_so_once_and_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every judge call fails: one stderr line with the first reason, exit 1 (it was exit 0, silently)."""
    from reward.judge import runtime as judge_runtime

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    judge_runtime.reset()
    try:
        code, out, err = run("score", "--spec", SUPPORT_SPEC, "--data", SUPPORT_TRAIN, "--limit", "3")
    finally:
        judge_runtime.reset()
    # The control report may explain the low scores above; the failure itself is one line, once.
    assert code == 1 and "Traceback" not in err
    (line,) = [x for x in err.splitlines() if x.startswith("rft score: error: a grader failed")]
    assert "NoCredentialsError" in line and "Unable to locate credentials" in line
    assert re.search(r"a grader failed \(\d+ results with status error\); the first, dimension '\w+'", line)
    assert "error 3" in out  # the table still shows what happened


def test_a_judge_without_permission_says_so_once_and_fails() -> None:
    with bedrock_emulator(Script(error="AccessDeniedException")) as emu:
        code, _, err = run("score", "--spec", SUPPORT_SPEC, "--data", SUPPORT_TRAIN, "--limit", "2")
    assert code == 1 and "Traceback" not in err
    (line,) = [x for x in err.splitlines() if x.startswith("rft score: error: a grader failed")]
    assert "AccessDeniedException" in line
    assert emu.requests  # the judge really called Bedrock (the emulator) and was refused


def test_a_healthy_run_prints_nothing_on_stderr() -> None:
    code, _, err = run("score", "--spec", GSM8K, "--data", TRAIN, "--limit", "5")
    assert (code, err) == (0, "")


# ------------------------------------------------------------------ --version, help texts, the real script


def test_version_comes_from_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    import tomllib

    expected = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["version"]
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"rft {expected}"
    assert main(["--version"]) == 0


MODULE_PATH = re.compile(r"\b(?:reward|rft|stacks|job_starter|lambda_src)\.[a-z_]+|\blambda_handler\b|``")


def test_help_texts_speak_of_what_the_user_does_not_module_paths() -> None:
    """Every subcommand's help, including ones added later, is checked."""
    parser = build_parser()
    texts = {"rft": parser.format_help()}
    subparsers = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, sub in subparsers.choices.items():
        texts[name] = sub.format_help()
    assert {"score", "probe", "invoke", "status", "validate-data"} <= set(texts)
    offenders = {name: MODULE_PATH.findall(text) for name, text in texts.items() if MODULE_PATH.search(text)}
    assert offenders == {}


def test_the_installed_script_prints_no_traceback(unknown_grader: str) -> None:
    """The console script as a user runs it, in its own process."""
    result = subprocess.run(
        [sys.executable, "-m", "rft.cli", "score", "--spec", unknown_grader, "--data", TRAIN],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "unknown grader 'numerik'" in result.stderr


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("samples_per_prompt", "lots", "an integer"),
        ("reasoning_effort", "extreme", "one of"),
        ("base_model_id", "amazon.titan-text-lite-v1", "reinforcement fine-tuning"),
    ],
)
def test_a_cdk_json_value_synth_would_reject_is_one_line_naming_file_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str, value: str, allowed: str
) -> None:
    """`rft baseline` mirrors the job from cdk.json with the parsers `cdk synth` uses (one schema)."""
    (tmp_path / "cdk.json").write_text(json.dumps({"app": "x", "context": {key: value}}))
    monkeypatch.chdir(tmp_path)
    code, _, err = run("baseline", "--spec", GSM8K, "--data", TRAIN, "--yes")
    line = assert_one_line_error(code, err, command="baseline")
    assert str(tmp_path / "cdk.json") in line and repr(key) in line and allowed in line


def test_cdk_json_settings_are_parsed_and_missing_keys_take_the_schemas_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rft.project import context_defaults
    from stacks.context_schema import CONTEXT_KEYS

    (tmp_path / "cdk.json").write_text(json.dumps({"context": {"samples_per_prompt": "6"}}))
    monkeypatch.chdir(tmp_path)
    settings = context_defaults()
    assert settings["samples_per_prompt"] == 6  # a string in cdk.json, parsed like `-c samples_per_prompt=6`
    assert settings["inference_max_tokens"] == CONTEXT_KEYS["inference_max_tokens"].default
    assert settings["reward_spec"] == CONTEXT_KEYS["reward_spec"].default


def test_a_bad_cdk_json_value_stops_only_the_commands_that_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flag that overrides the key means the value is never read: no error for it."""
    from rft.project import context_defaults

    (tmp_path / "cdk.json").write_text(json.dumps({"context": {"samples_per_prompt": "lots"}}))
    monkeypatch.chdir(tmp_path)
    settings = context_defaults()
    assert settings["reasoning_effort"] == "high"
    with pytest.raises(CliError, match=r"'samples_per_prompt' is \"lots\"; allowed: an integer"):
        settings.get("samples_per_prompt")
