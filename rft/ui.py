"""What the ``rft`` commands show on a terminal: the one progress bar (tqdm) and the terminal check.

A bar is drawn on stderr only when it is a terminal and the command was not asked for machine-readable
output (``--json``); it appears only once the work has run for a second (``delay``), so a quick run prints
nothing, and it leaves no line behind.
"""

from __future__ import annotations

from typing import IO, Any


def isatty(stream: Any) -> bool:
    """Whether ``stream`` is a terminal (False for anything that cannot say)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def progress_bar(total: int, label: str, *, err: IO[str], enabled: bool = True, unit: str = "it") -> Any:
    """A tqdm bar of ``total`` steps on ``err`` (``.update(n)``, ``.close()``); hidden when ``enabled`` is
    false or ``err`` is not a terminal."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=label,
        unit=unit,
        file=err,
        disable=not (enabled and isatty(err)),
        dynamic_ncols=True,
        leave=False,
        delay=1.0,
    )


__all__ = ["isatty", "progress_bar"]
