"""What a command can fail with: ``CliError`` (a problem the user must fix, with its exit status), the exit
statuses, and ``user_error``, which turns what the libraries raise on bad input into one line.
"""

from __future__ import annotations

import json
import sys

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class CliError(Exception):
    """A problem the user must fix; ``main`` prints the message and exits with ``code``."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def user_error(exc: BaseException) -> CliError | None:
    """The ``CliError`` a user should see for ``exc``, or None when ``exc`` is a bug (not the user's doing).

    ``rft.cli.main`` runs every command through this, so a command needs no error handling of its own
    for what the library raises on bad input: an invalid spec (``SpecError``, which names the file and
    field), a grader parameter, a file that is missing, unreadable or not UTF-8, bad JSON (exit 2), and AWS
    errors — no credentials, access denied, an unreachable endpoint (exit 1).
    """
    if isinstance(exc, CliError):
        return exc
    from reward.graders.base import ParamError
    from reward.spec import SpecError

    if isinstance(exc, (SpecError, ParamError)):
        return CliError(one_line(str(exc)))
    if isinstance(exc, OSError) and exc.filename is not None:
        return CliError(f"{exc.filename}: {exc.strerror or type(exc).__name__}")
    if isinstance(exc, UnicodeDecodeError):
        return CliError(f"not UTF-8 text ({exc.reason} at byte {exc.start})")
    if isinstance(exc, json.JSONDecodeError):
        from reward.dataset import json_error_message

        return CliError(f"line {exc.lineno}: {json_error_message(exc)}")
    return _aws_error(exc)


def _aws_error(exc: BaseException) -> CliError | None:
    if sys.modules.get("botocore.exceptions") is None:  # botocore was never imported: not one of its errors
        return None
    from rft.aws_errors import explain

    message = explain(exc)
    return None if message is None else CliError(message, EXIT_FAILURE)


def one_line(text: str) -> str:
    """``text`` with its lines joined by "; " (an error message is one line on a terminal)."""
    return "; ".join(line.strip() for line in str(text).splitlines() if line.strip())
