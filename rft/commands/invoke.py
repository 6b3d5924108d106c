"""``rft invoke``: call the deployed reward Lambda with events built from dataset rows (reference answers
and known-bad answers), print the reply and check it against the reward contract
(``reward.contract.check_reply``, the same check the job starter's preflight applies).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from typing import Any

from rft.aws import client, reward_function_of
from rft.context import Context
from rft.errors import EXIT_FAILURE, EXIT_OK, CliError
from rft.flags import add_stack_target
from rft.grading import lambda_grader, use_spec
from rft.rows import event_element, load_rows

HELP = "invoke the deployed reward Lambda with events built from dataset rows"
DESCRIPTION = (
    "Build an event from the first N dataset rows — each row's reference answer (positive control) and "
    "known-bad answers (negative controls) — send it to the deployed reward Lambda, print the reply and "
    "check it against the reward contract. Exit status 1 when the reply breaks the contract or a "
    "known-bad answer scores at or above its row's reference answer."
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("invoke", help=HELP, description=DESCRIPTION)
    target = add_stack_target(parser, reads="reward")
    target.add_argument("--function", metavar="NAME", help="reward Lambda name, ARN or qualified ARN")
    parser.add_argument("--data", required=True, help="dataset (Nova RFT JSONL)")
    parser.add_argument(
        "-n", type=int, default=5, metavar="N", help="rows to build the event from (default 5)"
    )
    parser.add_argument("--spec", help="reward spec whose control_template writes the reference answers")
    parser.add_argument("--raw", action="store_true", help="also print the raw JSON reply")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from reward.contract import check_reply
    from reward.controls import negative_controls, positive_control

    if args.n < 1:
        raise CliError("-n must be >= 1")
    template = use_spec(args.spec).control_template if args.spec else ""
    function = args.function or reward_function_of(ctx, args.stack, args.region)
    rows = load_rows(args.data, limit=args.n, err=ctx.err)

    event: list[dict[str, Any]] = []
    for row in rows:
        answers = {"reference": positive_control(template, row.reference)}
        answers.update(negative_controls(template, row.reference))
        for group, text in answers.items():
            event.append(event_element(row, text, f"{row.line}:{group}"))

    grade = lambda_grader(client(ctx, "lambda", args.region), function)
    reply = grade(event)
    problems = check_reply(event, reply)
    print(
        f"invoked {function} with {len(event)} samples from {len(rows)} rows of {args.data}\n", file=ctx.out
    )
    if args.raw:
        print(json.dumps(reply, indent=2, ensure_ascii=False), file=ctx.out)
    if isinstance(reply, list):
        print(_reply_table(event, reply), file=ctx.out)
    if problems:
        print(f"\nFAIL: the reply breaks the reward contract ({len(problems)} problems):", file=ctx.out)
        for problem in problems[:20]:
            print(f"  - {problem}", file=ctx.out)
        return EXIT_FAILURE
    if not args.spec:
        print(
            f"\nOK: {len(reply)} replies follow the contract. Reference answers were sent as they are in the "
            "dataset; pass --spec to write them with the spec's control_template and check that they "
            "outscore the known-bad answers.",
            file=ctx.out,
        )
        return EXIT_OK
    inverted = _inversions(event, reply)
    if inverted:
        print("\nFAIL: known-bad answers score at or above the reference answer:", file=ctx.out)
        for line in inverted[:20]:
            print(f"  - {line}", file=ctx.out)
        return EXIT_FAILURE
    print(
        f"\nOK: {len(reply)} replies follow the contract; every reference answer outscores its known-bad answers.",
        file=ctx.out,
    )
    return EXIT_OK


def _reply_table(event: Sequence[Mapping[str, Any]], reply: Sequence[Any]) -> str:
    lines = [f"{'sample':<26} {'reward':>7}  dimensions"]
    for sent, element in zip(event, reply):
        if not isinstance(element, Mapping):
            lines.append(f"{sent.get('id')!s:<26} {'?':>7}  (not an object)")
            continue
        metrics = element.get("metrics_list") or []
        rewards = [
            f"{m['name']}={m['value']:+.2f}"
            for m in metrics
            if isinstance(m, Mapping) and m.get("type") == "Reward"
        ]
        flags = [m["name"] for m in metrics if isinstance(m, Mapping) and ".status." in str(m.get("name"))]
        score = element.get("aggregate_reward_score")
        shown = f"{score:+.3f}" if isinstance(score, (int, float)) else repr(score)
        lines.append(
            f"{element.get('id')!s:<26} {shown:>7}  {' '.join(rewards)}{'  ' + ' '.join(flags) if flags else ''}"
        )
    return "\n".join(lines)


def _inversions(event: Sequence[Mapping[str, Any]], reply: Sequence[Mapping[str, Any]]) -> list[str]:
    by_row: dict[str, dict[str, float]] = {}
    for sent, element in zip(event, reply):
        line, _, group = str(sent["id"]).partition(":")
        by_row.setdefault(line, {})[group] = element["aggregate_reward_score"]
    found = []
    for line, groups in by_row.items():
        reference = groups.get("reference")
        for group, score in groups.items():
            if group != "reference" and reference is not None and score >= reference:
                found.append(f"line {line}: {group} scores {score:+.3f}, reference {reference:+.3f}")
    return found
