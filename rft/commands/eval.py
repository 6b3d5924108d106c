"""``rft eval``: did RFT help? The base and the tuned model on the same prompts, inference settings, reward,
cache and retry machinery as ``rft baseline``, compared per prompt.

The headline is the mean per-prompt reward difference (tuned - base) with a paired bootstrap 95%
confidence interval: prompts are resampled with replacement (the same prompts for both models), so the
interval reflects how much the verdict depends on which prompts happened to be in the set.
``--fail-if-not-better`` exits 1 unless the interval's lower bound is above 0 (a CI gate on promotion).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rft import measure, models
from rft.comparison import compare
from rft.context import Context
from rft.errors import EXIT_FAILURE, EXIT_OK, CliError
from rft.flags import add_sampling_flags, check_counts, region_from, samples_from, settings_from
from rft.grading import grader_for, use_spec
from rft.output import dump_json, fmt, output_dir
from rft.project import context_defaults, resolve_path
from rft.rows import load_rows
from rft.sampling import confirm
from rft.stats import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED
from stacks.models import inference_model_id

HELP = "compare the tuned model with the base model on held-out prompts (paired bootstrap CI)"
DEFAULT_OUT = "out/eval"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help=HELP, description=__doc__.split("\n\n")[1].replace("``", ""))
    parser.add_argument(
        "--data", metavar="FILE", help="prompts (default: validation_data in cdk.json, the held-out set)"
    )
    parser.add_argument("--spec", metavar="SPEC", help="reward spec (default: reward_spec in cdk.json)")
    parser.add_argument("--tuned", metavar="ID", help="tuned model: a custom model deployment ARN")
    add_sampling_flags(parser, default_out=DEFAULT_OUT)
    parser.add_argument(
        "--fail-if-not-better",
        action="store_true",
        help="exit 1 unless the 95%% interval of the reward difference is above 0",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    check_counts(args)
    defaults = context_defaults()
    region = region_from(args, defaults)
    data = args.data or (
        resolve_path(str(defaults["validation_data"])) if defaults.get("validation_data") else None
    )
    if not data:
        raise CliError("no --data given and no validation_data in cdk.json")
    spec_path = args.spec or (
        resolve_path(str(defaults["reward_spec"])) if defaults.get("reward_spec") else None
    )
    if not spec_path:
        raise CliError("no --spec given and no reward_spec in cdk.json")
    if not args.tuned and not args.stack:
        raise CliError("name the tuned model: --tuned ARN (from `rft deploy-model`) or --stack NAME")
    base = args.base or inference_model_id(str(defaults.get("base_model_id") or ""), region)
    tuned = args.tuned or models.tuned_model_from_stack(ctx, args.stack, region)
    if tuned == base:
        raise CliError(f"--tuned and --base are the same model ({base}): nothing to compare")
    settings = settings_from(args, defaults)
    samples = samples_from(args, defaults)
    spec = use_spec(spec_path)
    rows = load_rows(data, limit=args.limit, err=ctx.err)
    out = output_dir(args.out)
    grader, grade_concurrency, where = grader_for(args, ctx, args.stack, spec)
    grades = measure.GradeCache(out / "cache", spec, where, local=not args.remote)

    plans = {
        "base": measure.plan(rows, base, settings, samples, out / "cache"),
        "tuned": measure.plan(rows, tuned, settings, samples, out / "cache", price_fallback=base),
    }
    measure.check_reachable(list(plans.values()), args, ctx, region)
    confirm([p.estimate for p in plans.values()], yes=args.yes, err=ctx.err)
    sampler = measure.sampler_for(args, ctx, out)
    reports: dict[str, dict[str, Any]] = {}
    stats: dict[str, list[measure.PromptStats]] = {}
    graded_all = []
    for name, plan in plans.items():
        sampling = measure.execute(
            plan, sampler, label=f"sampling {name}", ctx=ctx, show_progress=not args.json
        )
        graded = measure.grade_run(
            rows, plan.requests, sampling, spec, grader, concurrency=grade_concurrency, cache=grades
        )
        stats[name] = measure.per_prompt(graded, len(rows))
        reports[name] = {
            "model": plan.model_id,
            **measure.summarize(graded, stats[name], samples, spec, sampling),
        }
        graded_all.append((plan.model_id, graded))

    comparison = compare(stats["base"], stats["tuned"])
    dimension_delta = {
        name: (reports["tuned"]["per_dimension"][name] - reports["base"]["per_dimension"][name])
        for name in reports["base"]["per_dimension"]
        if reports["tuned"]["per_dimension"].get(name) is not None
        and reports["base"]["per_dimension"].get(name) is not None
    }
    report: dict[str, Any] = {
        "prompts": comparison["prompts"],
        "samples_per_prompt": samples,
        "base": reports["base"],
        "tuned": reports["tuned"],
        "delta": comparison["delta"],
        "delta_ci95": comparison["delta_ci95"],
        "wins": comparison["wins"],
        "ties": comparison["ties"],
        "losses": comparison["losses"],
        "better": comparison["better"],
        "per_dimension_delta": dimension_delta,
        "bootstrap": {"resamples": BOOTSTRAP_RESAMPLES, "seed": BOOTSTRAP_SEED, "unit": "prompt (paired)"},
        "spec": spec.name,
        "data": str(data),
        "settings": settings.as_dict(),
        "graded_by": where,
    }
    samples_path = out / "eval.jsonl"
    for i, (model_id, graded) in enumerate(graded_all):
        measure.write_samples(samples_path, rows, graded, model_id, append=i > 0)
    from rft.plots import eval_comparison

    png = eval_comparison(
        out / "eval.png",
        [p.mean for p in stats["base"] if p.rewards],
        [p.mean for p in stats["tuned"] if p.rewards],
        dimension_delta,
        title=f"{spec.name} on {Path(data).name}: tuned vs base ({samples} samples/prompt)",
    )
    report["files"] = {"samples": str(samples_path), "plot": str(png)}
    (out / "eval.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    if args.json:
        dump_json(ctx, report)
    else:
        print(render(report), file=ctx.out)
    if args.fail_if_not_better and not report["better"]:
        low = report["delta_ci95"][0]
        print(
            f"rft eval: not better: the 95% interval's lower bound is {low:+.3f} (must be above 0)",
            file=ctx.err,
        )
        return EXIT_FAILURE
    return EXIT_OK


def render(report: Mapping[str, Any]) -> str:
    f = fmt
    base, tuned = report["base"], report["tuned"]
    k = report["samples_per_prompt"]
    rows = [
        ("mean reward", base["mean_reward"], tuned["mean_reward"], True),
        *(
            (f"  {name}", base["per_dimension"].get(name), tuned["per_dimension"].get(name), True)
            for name in base["per_dimension"]
        ),
        ("pass rate", base["pass_rate"], tuned["pass_rate"], False),
        (f"pass@{k}", base["pass_at_k"], tuned["pass_at_k"], False),
        ("learning signal", base["signal_share"], tuned["signal_share"], False),
    ]
    lines = [
        f"rft eval: spec {report['spec']} on {report['data']} ({report['prompts']} prompts x {k} samples); "
        f"graded by {report['graded_by']}",
        f"  base  {base['model']}  ({base['calls']['made']:,} calls, {base['calls']['cached']:,} cached)",
        f"  tuned {tuned['model']}  ({tuned['calls']['made']:,} calls, {tuned['calls']['cached']:,} cached)",
        "",
        f"{'':<20}{'base':>9}{'tuned':>9}{'delta':>9}",
    ]
    for label, b, t, signed in rows:
        delta = (t - b) if (b is not None and t is not None) else None
        lines.append(f"{label:<20}{f(b, signed):>9}{f(t, signed):>9}{f(delta, True):>9}")
    low, high = report["delta_ci95"]
    lines += [
        f"{'statuses (base)':<20}" + ", ".join(f"{s} {n:,}" for s, n in base["statuses"].items()),
        f"{'statuses (tuned)':<20}" + ", ".join(f"{s} {n:,}" for s, n in tuned["statuses"].items()),
        "",
        f"per prompt: tuned wins {report['wins']}, ties {report['ties']}, loses {report['losses']}",
        f"delta (tuned - base, mean per-prompt reward): {report['delta']:+.3f}, "
        f"95% CI [{low:+.3f}, {high:+.3f}] (paired bootstrap over prompts, {report['bootstrap']['resamples']} resamples)",
        "verdict: "
        + (
            "better (the interval is above 0)"
            if report["better"]
            else "not shown to be better (the interval reaches 0)"
        ),
        "",
        f"wrote {report['files']['samples']} and {report['files']['plot']}",
    ]
    return "\n".join(lines)
