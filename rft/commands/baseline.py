"""``rft baseline``: is this dataset learnable by this model under this reward — before paying for RFT?

Samples K responses per prompt from the base model (Bedrock Runtime ``Converse``, the training job's
inference settings), grades each with the spec (the same code the reward Lambda runs, or the deployed
Lambda with ``--remote --stack``), and reports how much the K rewards of a prompt disagree: RFT (GRPO)
learns only from prompts whose samples are rewarded differently. Verdict: ``too_easy``, ``too_hard`` or
``learnable`` (thresholds printed with the verdict and below).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rft import measure
from rft.context import Context
from rft.errors import EXIT_FAILURE, EXIT_OK, CliError
from rft.flags import add_sampling_flags, check_counts, region_from, samples_from, settings_from
from rft.grading import grader_for, use_spec
from rft.learnability import ADVICE, THRESHOLDS, verdict, write_learnable
from rft.output import dump_json, fmt, output_dir
from rft.project import context_defaults
from rft.rows import load_rows
from rft.sampling import confirm
from stacks.models import inference_model_id

HELP = "sample the base model on the dataset and say whether RFT can learn from it"
DEFAULT_OUT = "out/baseline"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "baseline",
        help=HELP,
        description=__doc__.split("\n\n")[1].replace("``", ""),
        epilog=f"Verdict thresholds: {THRESHOLDS}. Exit status: 0 done, 1 a failure calling or grading, "
        "2 a usage error. See docs/before-and-after.md.",
    )
    parser.add_argument("--data", required=True, metavar="FILE", help="dataset (Nova RFT JSONL)")
    parser.add_argument("--spec", required=True, metavar="SPEC", help="reward spec (TOML)")
    add_sampling_flags(parser, default_out=DEFAULT_OUT)
    parser.add_argument(
        "--write-learnable",
        metavar="PATH",
        help="write the rows that carry signal (a training file for -c training_data=PATH)",
    )
    parser.add_argument(
        "--keep-solved",
        type=float,
        default=0.0,
        metavar="F",
        help="with --write-learnable, also keep this fraction (0..1) of the always-solved rows",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    check_counts(args)
    if not 0.0 <= args.keep_solved <= 1.0:
        raise CliError(f"--keep-solved {args.keep_solved}: must be between 0 and 1")
    if args.keep_solved and not args.write_learnable:
        raise CliError("--keep-solved only applies with --write-learnable PATH")
    if args.stack and not (args.remote or args.via == "batch"):
        raise CliError(
            "--stack names the stacks whose reward Lambda grades (add --remote) or samples (--via batch)"
        )
    defaults = context_defaults()
    settings = settings_from(args, defaults)
    samples = samples_from(args, defaults)
    region = region_from(args, defaults)
    model = args.base or inference_model_id(str(defaults.get("base_model_id") or ""), region)
    if not model:
        raise CliError("no --model given and no base_model_id in cdk.json")
    spec = use_spec(args.spec)
    rows = load_rows(args.data, limit=args.limit, err=ctx.err)
    out = output_dir(args.out)
    grader, grade_concurrency, where = grader_for(args, ctx, args.stack, spec)
    grades = measure.GradeCache(out / "cache", spec, where, local=not args.remote)

    base = inference_model_id(str(defaults.get("base_model_id") or ""), region)
    plan = measure.plan(rows, model, settings, samples, out / "cache", price_fallback=base)
    measure.check_reachable([plan], args, ctx, region)
    confirm([plan.estimate], yes=args.yes, err=ctx.err, quiet=False)
    sampling = measure.execute(
        plan, measure.sampler_for(args, ctx, out), label="sampling", ctx=ctx, show_progress=not args.json
    )
    graded = measure.grade_run(
        rows, plan.requests, sampling, spec, grader, concurrency=grade_concurrency, cache=grades
    )
    prompts = measure.per_prompt(graded, len(rows))
    report = measure.summarize(graded, prompts, samples, spec, sampling)
    measure.write_samples(out / "baseline.jsonl", rows, graded, model)  # first: inspectable if no verdict
    if report["pass_rate"] is None:
        raise CliError(
            f"no sample could be graded ({', '.join(f'{s} {n}' for s, n in report['statuses'].items())}): "
            f"no verdict. See the statuses and errors in {out / 'baseline.jsonl'}",
            EXIT_FAILURE,
        )
    report["verdict"] = verdict(report)
    report["thresholds"] = THRESHOLDS
    report["model"] = model
    report["settings"] = settings.as_dict()
    report["spec"] = spec.name
    report["data"] = str(args.data)
    report["graded_by"] = where
    report["cost_estimate"] = plan.estimate.as_dict()

    from rft.plots import baseline_distributions

    png = baseline_distributions(
        out / "baseline.png",
        [p.mean for p in prompts if p.rewards],
        [p.spread for p in prompts if p.measured],
        title=f"{spec.name} on {Path(args.data).name}: {model} ({samples} samples/prompt)",
    )
    files = {"samples": str(out / "baseline.jsonl"), "plot": str(png)}
    if args.write_learnable:
        files["learnable"] = str(
            write_learnable(Path(args.write_learnable), rows, prompts, args.keep_solved, report)
        )
    report["files"] = files
    (out / "baseline.json").write_text(report_json(report), encoding="utf-8")

    if args.json:
        dump_json(ctx, report)
    else:
        print(render(report, args.data), file=ctx.out)
    return EXIT_OK


def report_json(report: Mapping[str, Any]) -> str:
    import json

    return json.dumps(report, ensure_ascii=False, indent=2) + "\n"


def render(report: Mapping[str, Any], data: str) -> str:
    f = fmt
    k = report["samples_per_prompt"]
    calls = report["calls"]
    tokens = report["tokens"]
    lines = [
        f"rft baseline: spec {report['spec']} on {data} — model {report['model']}",
        f"sampled {report['prompts'] * k:,} responses: {calls['made']:,} calls made "
        f"({calls['throttled']} throttled, {calls['retried']} retried), {calls['cached']:,} from the cache, "
        f"{calls['failed']} failed; graded by {report['graded_by']}",
        "",
        f"{'prompts':<22}{report['prompts']:>8}   ({report['prompts_measured']} with >= 2 graded samples)",
        f"{'samples per prompt':<22}{k:>8}",
        f"{'mean reward':<22}{f(report['mean_reward'], True):>8}",
    ]
    for name, value in report["per_dimension"].items():
        lines.append(f"{'  ' + name:<22}{f(value, True):>8}")
    lines += [
        f"{'pass rate':<22}{f(report['pass_rate']):>8}   pass = {report['pass_rule']}; pass@{k} {f(report['pass_at_k'])}",
        f"{'learning signal':<22}{f(report['signal_share']):>8}   share of prompts whose {k} rewards are not all equal",
        f"{'always solved':<22}{f(report['solved_share']):>8}",
        f"{'never solved':<22}{f(report['unsolved_share']):>8}",
        f"{'statuses (per dim.)':<22}" + ", ".join(f"{s} {n:,}" for s, n in report["statuses"].items()),
        f"{'tokens':<22}in {tokens['input']:,}, out {tokens['output']:,} "
        f"(this run: in {tokens['input_billed_this_run']:,}, out {tokens['output_billed_this_run']:,})",
        "",
        f"verdict: {report['verdict']} — {ADVICE[report['verdict']]}",
        f"  ({report['thresholds']})",
    ]
    learn = report.get("learnable")
    files = report.get("files", {})
    lines.append("")
    lines.append(f"wrote {files.get('samples')} and {files.get('plot')}")
    if learn:
        lines.append(
            f"wrote {learn['rows']} rows to {learn['path']} ({learn['signal_rows']} with signal, "
            f"{learn['solved_rows_kept']} always-solved kept); train on it with -c training_data={learn['path']}"
            + (f"\n  note: {learn['note']}" if learn["note"] else "")
        )
    return "\n".join(lines)


__all__ = ["add_parser", "render", "run", "verdict"]
