"""``rft``: check a reward before paying for training, then poke the deployed stack.

    rft validate-data data/sample/train.jsonl
    rft score --spec reward_specs/gsm8k.toml --data data/sample/train.jsonl --out out/
    rft probe --spec reward_specs/gsm8k.toml --data data/sample/train.jsonl --out out/
    rft invoke --stack nova-rft --data data/sample/train.jsonl -n 5
    rft status --stack nova-rft --watch

Exit status: 0 ok, 1 findings or failure (invalid data, a hack that pays, a contract violation, a failed
job), 2 usage error (bad arguments, a missing or invalid spec).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import IO, Any

from rft import probe, remote, score, validate
from rft.core import EXIT_USAGE, CliError, Context


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rft",
        description=__doc__.split("\n\n")[0].replace("``", ""),
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    subparsers.required = True
    validate.add_parser(subparsers)
    score.add_parser(subparsers)
    probe.add_parser(subparsers)
    remote.add_invoke_parser(subparsers)
    remote.add_status_parser(subparsers)
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
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help
        return int(exc.code or 0)
    try:
        return args.run(args, ctx)
    except CliError as exc:
        print(f"rft {args.command}: error: {exc}", file=ctx.err)
        return exc.code
    except KeyboardInterrupt:
        print(f"rft {args.command}: interrupted", file=ctx.err)
        return 130
    except BrokenPipeError:  # `rft ... | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["EXIT_USAGE", "build_parser", "main"]
