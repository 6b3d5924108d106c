"""A worked example of a custom grader: ``reward_specs/structured_json.toml`` uses ``cites_rule``.

A custom grader is a plain function in a file under ``lambda_src/`` (it is bundled with the reward
Lambda), referenced from a spec as ``function = "module:function"``::

    [[dimensions]]
    name = "cites_rule"
    grader = "custom"
    weight = 0.1
    gate = "verdict"
    [dimensions.params]
    function = "examples_custom_reward:cites_rule"
    options = { metadata_key = "rule", field = "explanation" }

It is called as ``function(sample, options)`` with the ``reward.event.Sample`` (``response``,
``reference``, ``metadata``, ``prompt``) and the ``options`` table, and returns a ``Grade``, a number in
[0, 1] or a bool. Exceptions and bad return values become status ``error``, never a crash, and empty
responses are answered ``unscorable`` before your function is called. Test it like any function
(see ``tests/test_graders_custom.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from reward.event import Sample
from reward.graders.json_fields import JsonProblem, extract_json
from reward.results import Grade

_RULE_ID = r"\bR[0-9]+\b"


def cites_rule(sample: Sample, options: Mapping[str, Any]) -> Grade | float:
    """Does the JSON answer's explanation cite the rule this row's copy breaks?

    Formula: with ``expected`` the row's ``metadata[metadata_key]`` (e.g. ``"R2"``) and ``cited`` the rule
    ids (``pattern``, default ``R<digits>``) in the response's ``field``: credit 1 when ``cited ==
    {expected}``, 0.5 when ``expected`` is cited among others, 0 otherwise. Rows whose copy breaks no
    rule (``expected == none_value``, default ``"none"``) get 1: there is nothing to cite.
    """
    metadata_key = str(options.get("metadata_key", "rule"))
    field = str(options.get("field", "explanation"))
    none_value = str(options.get("none_value", "none"))
    pattern = str(options.get("pattern", _RULE_ID))

    expected = sample.metadata.get(metadata_key)
    if not isinstance(expected, str) or not expected:
        return Grade.no_reference(f"the row has no {metadata_key!r} field")
    if expected == none_value:
        return Grade.right("no rule broken: nothing to cite")
    try:
        answer = extract_json(sample.response or "")
    except JsonProblem as exc:
        return Grade.unscorable(str(exc))
    text = answer.get(field) if isinstance(answer, Mapping) else None
    if not isinstance(text, str):
        return Grade.unscorable(f"the answer has no {field!r} string")
    cited = set(re.findall(pattern, text))
    if cited == {expected}:
        return 1.0
    return 0.5 if expected in cited else 0.0
