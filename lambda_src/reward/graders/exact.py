"""``exact``: the answer equals one of the accepted reference strings after normalization.

Formula: credit 1 when ``normalize(answer)`` equals ``normalize(r)`` for some accepted reference ``r``,
else 0.

The declared final answer (``extract = "final"``, the default) is, for each declaration the response
makes (anchored, see ``reward.answers``; in order):
- a line ``#### x`` -> ``x`` (the rest of the line);
- ``\\boxed{x}`` / ``\\fbox{x}`` -> ``x`` (the balanced braces' content);
- "final answer: x" / "final answer is x" / "final answer = x" -> ``x``, up to the end of the sentence;
- "the answer is x" -> ``x``, up to the end of the sentence;
- or, with ``answer_pattern`` (a regex with one capture group, e.g. ``'Final verdict:\\s*(.+)$'``;
  case-insensitive, ``^``/``$`` per line), every match's capture instead of all of the above.
A phrase declaration loses a trailing explanatory clause ("Paris, which is the capital" -> "Paris").
Every declaration must normalize to the same string, so hedging ("Paris or Lyon" is not an accepted
answer) or contradicting declarations are wrong, and no declaration is ``unscorable``. With
``extract = "whole"`` the answer is the whole response.

Accepted references: the reference string; or, from a reference object, the value at ``reference_key``
(a string or a list of strings) plus any list under ``aliases_key``; or a list of strings as the
reference itself. Normalization options (each on/off): ``case_sensitive``, ``collapse_whitespace``,
``strip_punctuation``, ``nfkc``, ``drop_articles``. An answer that normalizes to nothing never matches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from reward.answers import MARKERS, declared_answers
from reward.event import Sample
from reward.graders.base import Grader, ParamError, answer_reading
from reward.results import Grade
from reward.text import has_content, normalize, reference_texts


@dataclass(frozen=True)
class ExactParams:
    extract: Literal["final", "whole"] = "final"
    reference_key: str = ""  # "" = the first of answer, final_answer, text, ... present in the object
    aliases_key: str = "aliases"  # an optional list of further accepted answers in the reference object
    markers: tuple[str, ...] = MARKERS  # which declarations count when extract = "final"
    case_sensitive: bool = False
    collapse_whitespace: bool = True
    strip_punctuation: bool = True
    nfkc: bool = True
    drop_articles: bool = False
    answer_pattern: str = ""  # a regex with one capture group: where the answer is (replaces markers)

    def __post_init__(self) -> None:
        if self.answer_pattern and self.extract == "whole":
            raise ParamError("answer_pattern", "'answer_pattern' needs extract = \"final\"")
        answer_reading(self.answer_pattern, self.markers)

    def normalize(self, text: str) -> str:
        return normalize(
            text,
            case=not self.case_sensitive,
            whitespace=self.collapse_whitespace,
            punctuation=self.strip_punctuation,
            nfkc=self.nfkc,
            articles=self.drop_articles,
        )


class ExactGrader(Grader):
    name = "exact"
    Params = ExactParams
    needs_reference = True
    reads_answer = True

    def __init__(self, params: ExactParams) -> None:
        super().__init__(params)
        self.pattern = answer_reading(params.answer_pattern)

    def grade(self, sample: Sample) -> Grade:
        p: ExactParams = self.params
        accepted = accepted_answers(sample.reference, p)
        if not accepted:
            return Grade.no_reference("reference_answer has no non-empty answer string")
        text = sample.response or ""
        if not has_content(text):
            return Grade.unscorable("empty response")
        if p.extract == "whole":
            answers = {p.normalize(text)}
        else:
            declarations = declared_answers(text, p.markers, self.pattern)
            if not declarations:
                if self.pattern is not None:
                    return Grade.unscorable(f"nothing matches answer_pattern {p.answer_pattern!r}")
                return Grade.unscorable("no final answer (#### x, \\boxed{x}, 'the answer is x')")
            answers = {p.normalize(d.text) for d in declarations}
        answers.discard("")
        if not answers:
            return Grade.unscorable("the declared answer is empty")
        if len(answers) > 1:
            return Grade.wrong(f"{len(answers)} different final answers declared")
        answer = answers.pop()
        if answer in accepted:
            return Grade.right()
        return Grade.wrong(f"answered {answer[:80]!r}, not an accepted answer")


def accepted_answers(reference: object, p: ExactParams) -> set[str]:
    """The normalized accepted answers of a reference (empty strings dropped)."""
    texts = reference_texts(reference, p.reference_key or None)
    if isinstance(reference, Mapping) and p.aliases_key:
        texts += reference_texts({p.aliases_key: reference.get(p.aliases_key)}, p.aliases_key)
    return {n for n in (p.normalize(t) for t in texts) if n}
