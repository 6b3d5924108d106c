"""The bias probes of ``rft judge-check``: replies that must not earn more than an honest answer.

- *length*: ``padded(reply)``, the reply with neutral prose appended (at least doubling it, at least
  ``MIN_PADDING_CHARS`` more);
- *master key*: each of ``MASTER_KEYS`` in place of the reply;
- *rubric echo*: ``rubric_echo(dimension)``, the dimension's own criteria text in place of the reply.
"""

from __future__ import annotations

from rft.judge_check.labels import JudgeDimension

#: Degenerate replies known to fool LLM judges (arXiv 2507.08794, "One Token to Fool LLM-as-a-Judge").
MASTER_KEYS = (":", "Thought process:", "Let's solve this step by step.", "Solution")
#: Prose that adds no fact, step, apology or promise: appended (repeated) to make a reply longer only.
NEUTRAL_PROSE = (
    "This message was written in reply to the enquiry above. It restates the situation as it stands at "
    "the time of writing, using the information that was available when it was prepared. The paragraphs "
    "that follow are part of the same message and should be read together with the text before them. "
)
MIN_PADDING_CHARS = 400


def padded(response: str) -> str:
    """``response`` with neutral prose appended: at least as long again, and at least 400 characters more."""
    need = max(len(response), MIN_PADDING_CHARS)
    repeats = -(-need // len(NEUTRAL_PROSE))
    return f"{response.rstrip()}\n\n{(NEUTRAL_PROSE * repeats).strip()}"


def rubric_echo(dimension: JudgeDimension) -> str:
    """The dimension's own criteria, as a reply: ``name: description`` lines."""
    return "\n".join(f"{c.name}: {c.description}" for c in dimension.criteria)
