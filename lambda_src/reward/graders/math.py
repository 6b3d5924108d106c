"""``math``: the response's declared final answer is symbolically equal to the reference (math-verify).

Pipeline (extract → parse → compare), each step visible:

1. **Extract** — *our* anchored extraction (``reward.answers.declared_answers``): only what the response
   declares as final counts (``\\boxed{}``, ``#### x``, "final answer: x", "the answer is x"; or every
   match of ``answer_pattern``, a regex with one capture group, instead). A phrase declaration loses a
   trailing clause ("the answer is 42, which is ..." reads 42). No declaration → ``unscorable`` (scored
   as a wrong answer). More than ``max_declarations`` → wrong.
2. **Clean** — ``reward.math_text``: escaped currency (``\\$10``), percent (``10\\%`` is 10), unit words
   (``12 apples``, ``5\\text{ cm}``), matrix environments and ``cases`` are normalized the same way in
   the reference and the response.
3. **Hedging rule** — a declaration that hedges is wrong:
   - uncertainty words inside a declaration ("maybe", "possibly", "perhaps", "probably", "either",
     "could be", "might be") are always a hedge;
   - a disjunction ("17 or 18", "x=2 \\text{ or } x=3", ``\\lor``) is a hedge when the reference is a
     single value. When the reference is *set-valued* (a set, an interval, a union, or an "or" of
     relations, e.g. ``\\{2, 3\\}``, ``[1, 2)``, ``x<1 \\text{ or } x>2``) a disjunction or a list is how
     such an answer is written, so it is compared as a set: "x=2 or x=3" equals ``\\{2, 3\\}``, "2 or 3 or
     4" does not. A list that is not a disjunction ("17, 18") is compared as a set too (math-verify's
     reading, ``ordered_lists = false``, the default), so it never equals a single-value reference; with
     ``ordered_lists = true`` a bare comma list is a sequence: "1, 2, 3" equals "1, 2, 3" but not "3, 2, 1".
4. **Agree** — every declaration must equal the reference: ``#### 18`` ... "the answer is 17" is wrong
   (conflicting), however the reference reads.
5. **Parse** — math-verify's ``parse`` on each declaration (wrapped in ``$...$`` unless it already carries
   math delimiters) and on the reference. A declared answer that does not parse as math (invalid LaTeX,
   ``\\boxed{}``; math-verify then yields nothing or only its raw-string fallback) is ``unscorable``: not
   rewarded, and reported as "not valid math" rather than as a wrong value. A reference that does not
   parse is ``no_reference`` (a dataset problem, not the model's). A reference that is prose ("forty
   two") is not mathematics: ``no_reference`` with that reason, or, with ``prose_references = "text"``,
   compared as text (case, punctuation and articles ignored).
6. **Compare** — math-verify's ``verify`` with the spec's options (float precision, strict variable
   matching, set/relation comparison). ``math_equivalent(gold, pred, options)`` is this comparison on raw
   strings; the peer test checks it against math-verify's own test suite.

Formula: credit 1 when every declaration is equivalent to the reference, else 0.

Heavy: sympy and math-verify are imported on first use (never when a spec is loaded), and the runner
grades this dimension in worker processes with a hard per-sample time limit (``reward.workers``).
Inside a worker math-verify's own ``signal.alarm`` timeouts are off (the worker is killed instead);
graded inline (no workers) in the main thread they are on, as a soft limit.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal

from reward import math_text
from reward.answers import MARKERS, Declared, declared_answers
from reward.event import Sample
from reward.graders.base import Grader, ParamError, answer_reading
from reward.results import Grade

MATCH_TYPES = ("latex", "expr")
MATH_VERIFY_BOXED_PRIORITY = 55  # math-verify's LatexExtractionConfig default
DEFAULT_INLINE_TIMEOUT_S = 5  # math-verify's own default, used only when graded outside a worker

# Uncertainty inside a declared answer is a hedge, whatever the reference.
_UNCERTAIN = re.compile(
    r"\b(?:maybe|possibly|perhaps|probably|either|could\s+be|might\s+be|or\s+so)\b", re.IGNORECASE
)
# A disjunction: "a or b" (plain or in \text{}), \lor, \vee.
_DISJUNCTION = re.compile(r"(?:\bor\b|\\lor\b|\\vee\b)", re.IGNORECASE)
_TRAILING = re.compile(r"[\s.;,:!]+$")


@dataclass(frozen=True)
class MathOptions:
    """How math-verify parses and compares (its own option names, see ``math_verify.verify``)."""

    match_types: tuple[str, ...] = MATCH_TYPES  # latex and/or plain expression extraction
    precision: int = 6  # float_rounding: decimal places floats are rounded to before comparing
    numeric_precision: int = 15  # significant digits for numeric evaluation
    strict: bool = True  # variables matter; sets are not tuples
    allow_set_relation_comp: bool = False  # "1 < x < 2" may equal "(1, 2)"
    boxed_match_priority: int = MATH_VERIFY_BOXED_PRIORITY
    timeout_s: int | None = None  # math-verify's signal timeouts (main thread only); None = off


@dataclass(frozen=True)
class MathParams:
    reference_key: str = "final_answer"  # key of the reference object holding the answer
    markers: tuple[str, ...] = MARKERS  # which final-answer declarations count
    match_types: tuple[str, ...] = MATCH_TYPES
    precision: int = 6
    numeric_precision: int = 15
    strict: bool = True
    allow_set_relation_comp: bool = False
    max_declarations: int = 8  # more declared answers than this is a shotgun: wrong
    timeout_s: float | None = None  # per-sample budget override (seconds); default: the spec's
    answer_pattern: str = ""  # a regex with one capture group: where the answer is (replaces markers)
    ordered_lists: bool = False  # a bare comma list "1, 2, 3" is a sequence (true) or a set (false)
    prose_references: Literal["no_reference", "text"] = "no_reference"  # a reference in words: skip or text

    def __post_init__(self) -> None:
        answer_reading(self.answer_pattern, self.markers)
        if not self.match_types or set(self.match_types) - set(MATCH_TYPES):
            raise ParamError("match_types", f"'match_types' entries must be among {', '.join(MATCH_TYPES)}")
        if not 0 <= self.precision <= 30:
            raise ParamError("precision", f"'precision' must be between 0 and 30, got {self.precision}")
        if not 1 <= self.numeric_precision <= 100:
            raise ParamError("numeric_precision", "'numeric_precision' must be between 1 and 100")
        if self.max_declarations < 1:
            raise ParamError("max_declarations", "'max_declarations' must be >= 1")
        if self.timeout_s is not None and not 0 < self.timeout_s <= 900:
            raise ParamError("timeout_s", f"'timeout_s' must be in (0, 900] seconds, got {self.timeout_s}")
        if not self.reference_key:
            raise ParamError("reference_key", "'reference_key' must not be empty")

    @property
    def options(self) -> MathOptions:
        return MathOptions(
            match_types=self.match_types,
            precision=self.precision,
            numeric_precision=self.numeric_precision,
            strict=self.strict,
            allow_set_relation_comp=self.allow_set_relation_comp,
            # soft limit when graded inline (no worker); inside a worker the kill is the limit
            timeout_s=math.ceil(self.timeout_s or DEFAULT_INLINE_TIMEOUT_S),
        )


# --- the math-verify layer (lazy imports) --------------------------------------------------------

_configs_cache: dict[tuple[tuple[str, ...], int], list[Any]] = {}


def _extraction_configs(options: MathOptions) -> list[Any]:
    key = (options.match_types, options.boxed_match_priority)
    configs = _configs_cache.get(key)
    if configs is None:
        from math_verify import ExprExtractionConfig, LatexExtractionConfig

        configs = []
        for match_type in options.match_types:
            if match_type == "latex":
                configs.append(LatexExtractionConfig(boxed_match_priority=options.boxed_match_priority))
            else:
                configs.append(ExprExtractionConfig())
        _configs_cache[key] = configs
    return configs


def _signal_timeout(options: MathOptions) -> int | None:
    """math-verify's alarm-based timeout: only where signals work and no worker guards us."""
    if options.timeout_s is None or threading.current_thread() is not threading.main_thread():
        return None
    from reward import workers

    return None if workers.in_worker() else max(1, math.ceil(options.timeout_s))


def _quiet_math_verify() -> None:
    # With timeouts off (we kill the worker instead) math-verify logs a warning on first use, and a
    # warning per failed parse; neither is actionable for a reward function's users.
    logging.getLogger("math_verify").setLevel(logging.ERROR)


def math_parse(text: str, options: MathOptions = MathOptions()) -> list[Any]:
    """math-verify's ``parse`` with ``options``: sympy objects (and fallback strings); [] when nothing parses."""
    from math_verify import parse

    _quiet_math_verify()
    return parse(text, _extraction_configs(options), parsing_timeout=_signal_timeout(options))


def math_verify_parsed(gold: list[Any], pred: list[Any], options: MathOptions = MathOptions()) -> bool:
    """math-verify's ``verify`` on already-parsed values (gold first: the comparison is not symmetric)."""
    from math_verify import verify

    return bool(
        verify(
            gold,
            pred,
            float_rounding=options.precision,
            numeric_precision=options.numeric_precision,
            strict=options.strict,
            allow_set_relation_comp=options.allow_set_relation_comp,
            timeout_seconds=_signal_timeout(options),
        )
    )


def math_equivalent(gold: str, pred: str, options: MathOptions = MathOptions()) -> bool:
    """True when ``pred`` is equivalent to ``gold`` (raw strings, math-verify extraction and comparison)."""
    return math_verify_parsed(math_parse(gold, options), math_parse(pred, options), options)


def is_set_valued(parsed: list[Any]) -> bool:
    """The parsed reference is a set of values (set, interval, union, "or" of relations)."""
    import sympy

    for value in parsed:
        if isinstance(value, sympy.Set) and not (isinstance(value, sympy.FiniteSet) and len(value) < 2):
            return True
        if isinstance(value, sympy.Or):
            return True
    return False


def has_math(parsed: list[Any]) -> bool:
    """Something parsed beyond math-verify's raw-string fallback."""
    return any(not isinstance(value, str) for value in parsed)


# --- the grader -----------------------------------------------------------------------------------


def as_latex_input(text: str, options: MathOptions = MathOptions()) -> str:
    """A declaration as math-verify input (``reward.math_text.as_input``): cleaned, and wrapped in
    ``$...$`` unless it has math delimiters (or LaTeX extraction is off: ``match_types = ["expr"]``)."""
    return math_text.as_input(text, wrap="latex" in options.match_types)


def reference_text(reference: Any, key: str) -> str | None:
    """The reference answer as text: ``{"final_answer": "\\\\frac{1}{2}"}``, ``"1/2"``, ``0.5`` or a solution
    whose final answer is declared (``\\boxed{}`` / ``####``; several boxed values are a list)."""
    if isinstance(reference, dict):
        for candidate in (key, "final_answer", "answer"):
            if candidate in reference:
                return reference_text(reference[candidate], key)
        return None
    if isinstance(reference, bool) or reference is None:
        return None
    if isinstance(reference, (int, float)):
        return repr(reference) if math.isfinite(reference) else None
    if isinstance(reference, str):
        if not reference.strip():
            return None
        found = declared_answers(reference, ("boxed", "hashes"))
        declared = list(dict.fromkeys(d.text.strip() for d in found))
        if len(declared) == 1:
            return declared[0]
        if declared and _listed(reference, found):
            # boxes joined by a few words ("\\boxed{1} papers and \\boxed{2} bins") are the reference's list
            return ", ".join(declared)
        return reference.strip()
    return None


class MathGrader(Grader):
    name = "math"
    Params = MathParams
    needs_reference = True
    reads_answer = True
    heavy = True

    def __init__(self, params: MathParams) -> None:
        super().__init__(params)
        self.options = params.options
        self.timeout_s = params.timeout_s
        self.pattern = answer_reading(params.answer_pattern)
        # A prompt is sampled several times per batch: read each reference once.
        self._references: OrderedDict[str, tuple[bool, list[Any]]] = OrderedDict()

    def warm(self) -> None:
        """Import math-verify and sympy and exercise the parser once (before workers are forked)."""
        math_equivalent("$\\frac{1}{2}$", "$0.5$", self.options)

    def _reference(self, text: str) -> tuple[bool, list[Any]]:
        """(is prose, parsed value) of a reference text; prose is not parsed."""
        cached = self._references.get(text)
        if cached is None:
            prose = math_text.is_prose(text)
            cached = (prose, [] if prose else math_parse(as_latex_input(text, self.options), self.options))
            self._references[text] = cached
            if len(self._references) > 256:
                self._references.popitem(last=False)
        return cached

    def grade(self, sample: Sample) -> Grade:
        p: MathParams = self.params
        ref = reference_text(sample.reference, p.reference_key)
        if ref is None:
            return Grade.no_reference(f"reference_answer has no answer under {p.reference_key!r}")
        prose, gold = self._reference(ref)
        if prose and p.prose_references == "no_reference":
            return Grade.no_reference(
                f"reference answer {_short(ref)!r} is prose, not mathematics "
                '(write it as math, or set prose_references = "text" to compare it as text)'
            )
        declarations = declared_answers(sample.response or "", p.markers, self.pattern)
        if not declarations:
            if self.pattern is not None:
                return Grade.unscorable(f"nothing matches answer_pattern {p.answer_pattern!r}")
            return Grade.unscorable("no final answer (\\boxed{...}, #### x, 'the final answer is x')")
        distinct = _distinct(declarations)
        if len(distinct) > p.max_declarations:
            return Grade.wrong(f"{len(distinct)} different declared answers", declared_answers=len(distinct))
        for text in distinct:
            if _UNCERTAIN.search(text):
                return Grade.wrong(f"hedged final answer {_short(text)!r}", declared_answers=len(distinct))
        if prose:
            return _grade_as_text(ref, distinct)

        if not has_math(gold):
            return Grade.no_reference(f"reference answer {_short(ref)!r} is not valid math")
        set_reference = is_set_valued(gold)
        items = math_text.top_level_items(ref)
        ordered = items if p.ordered_lists else []
        if len(distinct) > 1 and (set_reference or len(items) > 1):
            # A reference with several values ("(2,1), (1,2)") may be declared one value per box: the boxes
            # together are the answer (a hedge adds a wrong value, so the set still differs).
            distinct = [", ".join(math_text.clean(text) for text in distinct)]
        verdicts = []
        for text in distinct:
            if not set_reference and _DISJUNCTION.search(text):
                return Grade.wrong(f"hedged final answer {_short(text)!r}", declared_answers=len(distinct))
            if len(ordered) > 1:
                verdict = self._same_sequence(ordered, text)
                if verdict is None:
                    return Grade.unscorable(f"declared answer {_short(text)!r} is not valid math")
                verdicts.append(verdict)
                continue
            pred = math_parse(as_latex_input(text, self.options), self.options)
            if not has_math(pred):
                return Grade.unscorable(f"declared answer {_short(text)!r} is not valid math")
            verdicts.append(math_verify_parsed(gold, pred, self.options))
        if all(verdicts):
            return Grade.right()
        if any(verdicts):
            return Grade.wrong("conflicting final answers", declared_answers=len(distinct))
        return Grade.wrong(f"answered {_short(distinct[-1])!r}, expected {_short(ref)!r}")

    def _same_sequence(self, expected: list[str], text: str) -> bool | None:
        """``ordered_lists``: the declared comma list equals the reference item by item, in order
        (None when an item is not valid math)."""
        items = math_text.top_level_items(text)
        if len(items) != len(expected):
            return False
        for want, got in zip(expected, items):
            pred = math_parse(as_latex_input(got, self.options), self.options)
            if not has_math(pred):
                return None
            if not math_verify_parsed(
                math_parse(as_latex_input(want, self.options), self.options), pred, self.options
            ):
                return False
        return True


def _grade_as_text(reference: str, declared: list[str]) -> Grade:
    """``prose_references = "text"``: every declaration must read as the reference's words."""
    want = math_text.prose_key(reference)
    got = {math_text.prose_key(text) for text in declared}
    if len(got) > 1:
        return Grade.wrong(f"{len(got)} different final answers declared")
    answer = got.pop()
    if answer and answer == want:
        return Grade.right()
    return Grade.wrong(f"answered {_short(answer)!r}, expected {_short(reference)!r} (compared as text)")


def _listed(text: str, found: list[Declared], max_words: int = 3) -> bool:
    """Consecutive declarations are separated by at most ``max_words`` words (a list, not a solution that
    boxes several things)."""
    for before, after in itertools.pairwise(found):
        end = text.find(before.text, before.position) + len(before.text) + 1  # past the closing brace
        if len(text[end : after.position].split()) > max_words:
            return False
    return True


def _distinct(declarations: list[Declared]) -> list[str]:
    """Declared texts, de-duplicated by a light normalization (math-verify judges the rest)."""
    seen: dict[str, str] = {}
    for declaration in declarations:
        text = declaration.text.strip()
        key = _TRAILING.sub("", text.replace("$", "").replace(" ", ""))
        seen.setdefault(key, text)
    return list(seen.values())


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
