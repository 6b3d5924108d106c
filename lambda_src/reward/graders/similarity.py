"""``similarity``: how close the response (or its declared final answer) is to the reference text.

Formula: credit = ``metric(answer, reference)`` in [0, 1], set to 0 when below ``threshold``; with
several accepted references, the best one. Metrics:
- ``token_f1``: SQuAD-style token F1 (case-folded word tokens, multiset overlap) — order-insensitive;
- ``ratio``: rapidfuzz ``fuzz.ratio`` / 100 (normalized Indel similarity of the whole strings);
- ``partial_ratio``, ``token_sort_ratio``, ``token_set_ratio``: the rapidfuzz scorers of those names / 100.
The fuzzy metrics compare the texts after case-folding and whitespace/punctuation normalization.
With ``extract = "final"`` the answer is the single declared final answer (as in ``exact``); several
different declarations score 0 and none is ``unscorable``. An empty response is ``unscorable``.

Similarity rewards overlap, so padding a response with the reference's words, or echoing a prompt that
quotes the reference, can pay: prefer ``token_f1`` (precision falls with padding) and gate it on a
verifiable dimension. ``token_set_ratio`` and ``partial_ratio`` are the easiest to pad.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reward.answers import MARKERS, declared_answers
from reward.event import Sample
from reward.graders.base import Grader, ParamError
from reward.results import Grade
from reward.text import has_content, normalize, reference_texts, token_f1

Metric = Literal["token_f1", "ratio", "partial_ratio", "token_sort_ratio", "token_set_ratio"]


@dataclass(frozen=True)
class SimilarityParams:
    metric: Metric = "token_f1"
    reference_key: str = ""  # "" = the first of answer, final_answer, text, ... present in the object
    extract: Literal["whole", "final"] = "whole"
    threshold: float = 0.0  # credit below this becomes 0 (cuts the noise floor of chance overlap)

    def __post_init__(self) -> None:
        if not 0 <= self.threshold <= 1:
            raise ParamError("threshold", "'threshold' must be between 0 and 1")


class SimilarityGrader(Grader):
    name = "similarity"
    Params = SimilarityParams
    needs_reference = True
    reads_answer = True

    def __init__(self, params: SimilarityParams) -> None:
        super().__init__(params)
        self._scorer = None
        if params.metric != "token_f1":
            from rapidfuzz import fuzz  # lazy: token_f1 specs never import rapidfuzz

            self._scorer = getattr(fuzz, params.metric)

    def grade(self, sample: Sample) -> Grade:
        p: SimilarityParams = self.params
        references = [r for r in reference_texts(sample.reference, p.reference_key or None) if has_content(r)]
        if not references:
            return Grade.no_reference("reference_answer has no text to compare with")
        text = sample.response or ""
        if not has_content(text):
            return Grade.unscorable("empty response")
        if p.extract == "final":
            declared = {d.text.strip() for d in declared_answers(text, MARKERS)}
            if not declared:
                return Grade.unscorable("no final answer (#### x, \\boxed{x}, 'the answer is x')")
            if len({normalize(d, punctuation=True) for d in declared}) > 1:
                return Grade.wrong(f"{len(declared)} different final answers declared")
            text = declared.pop()
            if not has_content(text):
                return Grade.unscorable("the declared answer is empty")
        score = max(self._similarity(text, r) for r in references)
        if score < p.threshold:
            return Grade.wrong(f"similarity {score:.2f} under threshold {p.threshold:g}", similarity=score)
        return Grade.partial(score, similarity=score)

    def _similarity(self, text: str, reference: str) -> float:
        if self._scorer is None:
            return token_f1(text, reference)
        a, b = normalize(text, punctuation=True), normalize(reference, punctuation=True)
        if not a or not b:
            return 0.0
        return float(self._scorer(a, b)) / 100.0
