"""``rft``: check a reward before paying for training, then poke the deployed stack.

    rft validate-data data/sample/train.jsonl data/sample/validation.jsonl
    rft score --spec reward_specs/gsm8k.toml --data data/sample/train.jsonl --out out/
    rft probe --spec reward_specs/gsm8k.toml --data data/sample/train.jsonl --out out/
    rft judge-check --spec reward_specs/support_rubric.toml --labels data/support/labels.jsonl
    rft invoke --stack nova-rft --data data/sample/train.jsonl -n 5
    rft status --stack nova-rft --watch
    rft report --stack nova-rft --out out/
    rft deploy-model --stack nova-rft

Exit status: 0 ok, 1 findings or failure (invalid data, a hack that pays, a grader that errs, a contract
violation, a failed job, an AWS error), 2 usage error (bad arguments, a missing or invalid spec or data
file). Errors are one line on stderr; set RFT_DEBUG=1 to see the traceback of an unexpected one.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, NoReturn

from rft.commands import (
    baseline,
    deploy_model,
    invoke,
    judge_check,
    probe,
    report,
    score,
    status,
    undeploy_model,
    validate_data,
)
from rft.commands import eval as eval_
from rft.context import Context
from rft.errors import EXIT_FAILURE, EXIT_USAGE, one_line, user_error
from rft.grading import GRADING_ERRORS
from rft.reward_logs import RewardLogs

#: The commands, in the order ``rft --help`` lists them: each module has ``add_parser`` and ``run``.
COMMANDS = (
    validate_data,
    score,
    probe,
    judge_check,
    invoke,
    status,
    report,
    deploy_model,
    undeploy_model,
    baseline,
    eval_,
)


def version() -> str:
    """The installed package's version (pyproject.toml's ``version``), or the source tree's."""
    from importlib import metadata

    try:
        return metadata.version("nova-rft-kit")
    except metadata.PackageNotFoundError:  # run from a checkout without `pip install -e .`
        import tomllib

        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (what is wrong, and where to read more), not the usage text."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (usage: `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rft",
        description=__doc__.split("\n\n")[0].replace("``", ""),
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show the reward library's structured log lines"
    )
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    subparsers.required = True
    for command in COMMANDS:
        command.add_parser(subparsers)
    for sub in subparsers.choices.values():  # also after the command: `rft score --verbose ...`
        sub.add_argument(
            "-v",
            "--verbose",
            action="store_true",
            default=argparse.SUPPRESS,
            help="show the reward library's structured log lines (default: held back, see below)",
        )
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
    client_factory: Callable[[str, str], Any] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run one ``rft`` command; returns the exit status. Tests inject ``client_factory`` (boto3 clients by
    service and region) and ``sleep``."""
    ctx = Context(
        out=out if out is not None else sys.stdout,
        err=err if err is not None else sys.stderr,
        client_factory=client_factory,
        sleep=sleep,
    )
    parser = build_parser()
    try:
        # argparse prints help and --version to stdout and errors to stderr: to this command's streams.
        with contextlib.redirect_stdout(ctx.out), contextlib.redirect_stderr(ctx.err):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help / --version
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    held = RewardLogs()
    try:
        with GRADING_ERRORS.capturing() as grading_errors, _quiet(held, args):
            code = args.run(args, ctx)
        note = None if getattr(args, "verbose", False) else held.report(getattr(args, "out", None))
        if note is not None:
            print(f"rft {args.command}: {note}", file=ctx.err)
        failed = grading_errors.message()
        if failed is not None:
            # A grader that cannot grade (e.g. a judge without credentials or permission) makes every
            # number above meaningless: say why once, and fail.
            print(f"rft {args.command}: error: {failed}", file=ctx.err)
            code = max(code, EXIT_FAILURE)
        return code
    except KeyboardInterrupt:
        print(f"rft {args.command}: interrupted", file=ctx.err)
        return 130
    except BrokenPipeError:  # `rft ... | head`
        return 0
    except Exception as exc:
        # Every command loads its spec and data inside this handler, so what the user got wrong (a spec,
        # a data file, a flag, credentials) is one line here, whichever command it was; see user_error.
        error = user_error(exc)
        if error is not None:
            print(f"rft {args.command}: error: {error}", file=ctx.err)
            return error.code
        if os.environ.get("RFT_DEBUG"):
            raise
        print(
            f"rft {args.command}: internal error: {type(exc).__name__}: {one_line(str(exc))[:500]} "
            "(a bug: rerun with RFT_DEBUG=1 for the traceback and report it)",
            file=ctx.err,
        )
        return EXIT_FAILURE


def _quiet(held: RewardLogs, args: argparse.Namespace) -> contextlib.AbstractContextManager[Any]:
    """Hold the reward library's log lines while the command runs, unless ``--verbose``."""
    return contextlib.nullcontext() if getattr(args, "verbose", False) else held.holding()


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["EXIT_USAGE", "build_parser", "main"]
