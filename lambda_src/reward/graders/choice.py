"""``choice``: a multiple-choice answer — one option letter (or that option's text), or one word label of
a classification task — equals the reference.

Formula: credit 1 when the response names exactly one option and it is the reference option, else 0.

Where the answer is read (anchored, never "the last letter anywhere"):
1. every final-answer declaration: ``#### B``, ``\\boxed{B}``, "final answer: B", "the answer is B",
   and a line ``Answer: B``;
2. when there is none, the whole response if it is nothing but an answer (``B``, ``(B)``, ``B) Paris``,
   or an option's text).
No answer found is ``unscorable`` (a wrong answer). A declaration that names several options ("A or B",
"A and B", "A, B, C, D"), or declarations that disagree, are wrong: one answer, or no credit.

An option is named by its label as a standalone capital letter (``B``, ``(B)``, ``B.``; a lone lower-case
``b`` only when it is the whole declaration) or, with ``accept_text``, by its full text (normalized,
word-bounded). The reference is ``"B"``, ``{"answer": "B"}`` or the option's text; the options come from
the reference object or the row's metadata under ``options_key``: a list (labelled A, B, ...) or a
table ``{A = "...", B = "..."}``.

**Word labels** (classification: ``labels = ["billing", "shipping", "returns", "technical", "other"]``, a
list): a label is compared case-insensitively with surrounding punctuation and markup ignored
(``**Billing**.`` names ``billing``; a label may be several words, ``"wrong item"``). A declaration must
name exactly one label of the list: none ("refund", a label outside the list) or several ("billing or
shipping", "billing, shipping, returns") is wrong. The reference is the label string, or the field
``reference_key`` of a reference object (``{"category": "billing"}``); a reference that is not in the
list is ``no_reference``. Without ``answer_pattern`` a response that is nothing but one label counts too.

**answer_pattern** (a regex with one capture group, e.g. ``'Category:\\s*(.+)$'``; case-insensitive,
``^``/``$`` per line) replaces the declarations above: every match is a declaration, its capture the
answer. Several matches that disagree are wrong; one match naming several labels is wrong, and so is a
match whose line goes on to name another label after the capture (``Category: billing, shipping`` with
``'Category:\\s*(\\w+)'``); no match is ``unscorable``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reward.answers import Declared, declared_answers
from reward.event import Sample
from reward.graders.base import Grader, ParamError, answer_reading
from reward.results import Grade
from reward.text import has_content, normalize

_ANSWER_LINE = re.compile(r"^[ \t>*_#]*answer[ \t*_]*[:=][ \t]*(.*?)[ \t]*$", re.IGNORECASE | re.MULTILINE)
_BARE_LETTER = re.compile(r"[(\[]?\s*([A-Za-z])\s*[)\].:]?")
_LETTER_WITH_TEXT = re.compile(r"[(\[]?([A-Z])\s*[)\].:]\s+\S.*", re.DOTALL)
_MAX_BARE_CHARS = 300  # a whole response longer than this is reasoning, not a bare answer


@dataclass(frozen=True)
class ChoiceParams:
    reference_key: str = "answer"  # key of the reference object holding the correct option
    options_key: str = "options"  # key (in the reference object, else metadata) of the option texts
    # valid option letters ("ABCD") when the row lists no options, or a list of word labels
    labels: str | tuple[str, ...] = "ABCDE"
    accept_text: bool = True  # the option's full text counts as naming it
    answer_pattern: str = ""  # a regex with one capture group: where the answer is (replaces markers)

    def __post_init__(self) -> None:
        if isinstance(self.labels, tuple):
            normalized = [label_key(label) for label in self.labels]
            if len(normalized) < 2 or not all(normalized):
                raise ParamError(
                    "labels",
                    '\'labels\' must list at least two labels with letters or digits, e.g. ["yes", "no"]',
                )
            if len(set(normalized)) != len(normalized):
                raise ParamError("labels", "'labels' must not repeat a label (compared case-insensitively)")
        else:
            if not self.labels or not all(c in string.ascii_uppercase for c in self.labels):
                raise ParamError(
                    "labels", "'labels' must be capital letters, e.g. \"ABCD\", or a list of word labels"
                )
            if len(set(self.labels)) != len(self.labels):
                raise ParamError("labels", "'labels' must not repeat a letter")
        if not self.reference_key:
            raise ParamError("reference_key", "'reference_key' must not be empty")
        answer_reading(self.answer_pattern)

    @property
    def word_labels(self) -> tuple[str, ...] | None:
        """The word labels (a list in the spec), or None for option letters."""
        return self.labels if isinstance(self.labels, tuple) else None


def label_key(label: str) -> str:
    """How labels compare: case-folded, punctuation and markup as spaces, whitespace collapsed."""
    return normalize(label, punctuation=True)


class ChoiceGrader(Grader):
    name = "choice"
    Params = ChoiceParams
    needs_reference = True
    reads_answer = True

    def __init__(self, params: ChoiceParams) -> None:
        super().__init__(params)
        self.pattern = answer_reading(params.answer_pattern)
        words = params.word_labels
        # normalized label -> the label as the spec writes it
        self.labels: dict[str, str] = {label_key(w): w for w in words} if words is not None else {}

    def grade(self, sample: Sample) -> Grade:
        if self.labels:
            return self._grade_words(sample)
        p: ChoiceParams = self.params
        options = _options(sample, p.options_key)
        labels = tuple(options) if options else tuple(p.labels)
        expected = _reference_label(sample.reference, p.reference_key, labels, options)
        if expected is None:
            return Grade.no_reference(f"reference_answer names no option among {', '.join(labels)}")
        text = sample.response or ""
        if not has_content(text):
            return Grade.unscorable("empty response")
        texts = (
            {label: normalize(t, punctuation=True) for label, t in options.items()} if p.accept_text else {}
        )
        if self.pattern is not None:
            found = declared_answers(text, pattern=self.pattern)
            if not found:
                return Grade.unscorable(f"nothing matches answer_pattern {p.answer_pattern!r}")
            for d in found:
                extra = _named_options(d.tail, labels, texts) - _named_options(d.text, labels, texts)
                if extra:
                    return Grade.wrong(f"the declaring line goes on to name {', '.join(sorted(extra))}")
            declarations = [d.text for d in found]
        else:
            declarations = [d.text for d in declared_answers(text)]
            declarations += [m.group(1) for m in _ANSWER_LINE.finditer(text)]
        if not declarations:
            bare = text.strip()
            if len(bare) > _MAX_BARE_CHARS or not _is_bare_answer(bare, labels, texts):
                return Grade.unscorable("no declared answer ('the answer is B', 'Answer: B', \\boxed{B})")
            declarations = [bare]
        named: set[str] = set()
        for declaration in declarations:
            options_named = _named_options(declaration, labels, texts)
            if len(options_named) > 1:
                return Grade.wrong(
                    f"one declaration names several options: {', '.join(sorted(options_named))}"
                )
            named |= options_named
        if not named:
            return Grade.unscorable("the declared answer names no option")
        if len(named) > 1:
            return Grade.wrong(f"declarations disagree: {', '.join(sorted(named))}")
        answer = named.pop()
        if answer == expected:
            return Grade.right()
        return Grade.wrong(f"answered {answer}, expected {expected}")

    def _grade_words(self, sample: Sample) -> Grade:
        """Word labels: exactly one label of the list, the reference's."""
        p: ChoiceParams = self.params
        value = (
            sample.reference.get(p.reference_key)
            if isinstance(sample.reference, Mapping)
            else sample.reference
        )
        if not isinstance(value, str) or label_key(value) not in self.labels:
            shown = _short(value if isinstance(value, str) else repr(value))
            return Grade.no_reference(
                f"reference answer {shown!r} (under {p.reference_key!r}) is not one of the labels "
                f"{', '.join(self.labels.values())}"
            )
        expected = label_key(value)
        text = sample.response or ""
        if not has_content(text):
            return Grade.unscorable("empty response")
        found: list[Declared]
        if self.pattern is not None:
            found = declared_answers(text, pattern=self.pattern)
            if not found:
                return Grade.unscorable(f"nothing matches answer_pattern {p.answer_pattern!r}")
        else:
            found = declared_answers(text)
            found += [Declared("answer_line", m.group(1), m.start()) for m in _ANSWER_LINE.finditer(text)]
            if not found:
                if len(text) <= _MAX_BARE_CHARS and label_key(text) in self.labels:
                    found = [Declared("bare", text, 0)]
                else:
                    return Grade.unscorable("no declared label ('Answer: <label>', 'the answer is <label>')")
        named: set[str] = set()
        for d in found:
            in_answer = self._named_labels(d.text)
            if len(in_answer) > 1:
                return Grade.wrong(f"one declaration names several labels: {', '.join(sorted(in_answer))}")
            if not in_answer:
                return Grade.wrong(f"declared {_short(d.text)!r}, which is not one of the labels")
            extra = self._named_labels(d.tail) - in_answer
            if extra:
                return Grade.wrong(f"the declaring line goes on to name {', '.join(sorted(extra))}")
            named |= in_answer
        if len(named) > 1:
            return Grade.wrong(f"declarations disagree: {', '.join(sorted(named))}")
        answer = named.pop()
        if answer == expected:
            return Grade.right()
        return Grade.wrong(f"answered {self.labels[answer]!r}, expected {self.labels[expected]!r}")

    def _named_labels(self, text: str) -> set[str]:
        """Every label ``text`` names as whole words; a label inside a longer named label does not count
        ("other" within "other hardware")."""
        if not text:
            return set()
        flat = f" {label_key(text)} "
        hits = [key for key in self.labels if f" {key} " in flat]
        return {key for key in hits if not any(o != key and f" {key} " in f" {o} " for o in hits)}


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _options(sample: Sample, key: str) -> dict[str, str]:
    """Option texts by label, from the reference object or the metadata; {} when the row has none."""
    raw: Any = None
    if isinstance(sample.reference, Mapping):
        raw = sample.reference.get(key)
    if raw is None and isinstance(sample.metadata, Mapping):
        raw = sample.metadata.get(key)
    if isinstance(raw, Mapping):
        out = {}
        for label, value in raw.items():
            if isinstance(label, str) and len(label.strip()) == 1 and label.strip().isalpha():
                out[label.strip().upper()] = value if isinstance(value, str) else str(value)
        return out
    if isinstance(raw, Sequence) and not isinstance(raw, str) and 0 < len(raw) <= 26:
        return {string.ascii_uppercase[i]: v if isinstance(v, str) else str(v) for i, v in enumerate(raw)}
    return {}


def _reference_label(
    reference: Any, key: str, labels: tuple[str, ...], options: Mapping[str, str]
) -> str | None:
    value = reference.get(key) if isinstance(reference, Mapping) else reference
    if not isinstance(value, str):
        return None
    stripped = value.strip()
    bare = _BARE_LETTER.fullmatch(stripped)
    if bare and bare.group(1).upper() in labels:
        return bare.group(1).upper()
    wanted = normalize(stripped, punctuation=True)
    matches = [label for label, text in options.items() if normalize(text, punctuation=True) == wanted]
    return matches[0] if len(matches) == 1 else None


def _is_bare_answer(text: str, labels: tuple[str, ...], texts: Mapping[str, str]) -> bool:
    """The whole response is just an answer: a letter, a letter with its text, or an option's text."""
    bare = _BARE_LETTER.fullmatch(text)
    if bare and bare.group(1).upper() in labels:
        return True
    with_text = _LETTER_WITH_TEXT.fullmatch(text)
    if with_text and with_text.group(1) in labels and "\n" not in text.strip():
        return True
    wanted = normalize(text, punctuation=True)
    return bool(wanted) and wanted in texts.values()


def _named_options(declaration: str, labels: tuple[str, ...], texts: Mapping[str, str]) -> set[str]:
    """Every option a declaration names, by label or (when ``texts``) by full option text."""
    stripped = declaration.strip()
    bare = _BARE_LETTER.fullmatch(stripped)
    if bare:
        letter = bare.group(1).upper()
        return {letter} if letter in labels else set()
    named = {
        m.group(1)
        for m in re.finditer(r"(?<![A-Za-z0-9'’])([A-Z])(?![A-Za-z0-9'’])", stripped)
        if m.group(1) in labels
    }
    if texts:
        flat = f" {normalize(stripped, punctuation=True)} "
        hits = {label: text for label, text in texts.items() if text and f" {text} " in flat}
        # "Paris, Texas" names one option even when "Paris" is another: drop texts inside a longer hit.
        named |= {
            label
            for label, text in hits.items()
            if not any(other != text and f" {text} " in f" {other} " for other in hits.values())
        }
    return named
