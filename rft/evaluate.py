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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rft import core, measure
from rft.core import EXIT_FAILURE, EXIT_OK, CliError, Context
from rft.project import context_defaults, resolve_path
from rft.sampling import confirm
from stacks.models import inference_model_id

HELP = "compare the tuned model with the base model on held-out prompts (paired bootstrap CI)"
DEFAULT_OUT = "out/eval"
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help=HELP, description=__doc__.split("\n\n")[1].replace("``", ""))
    parser.add_argument(
        "--data", metavar="FILE", help="prompts (default: validation_data in cdk.json, the held-out set)"
    )
    parser.add_argument("--spec", metavar="SPEC", help="reward spec (default: reward_spec in cdk.json)")
    parser.add_argument("--tuned", metavar="ID", help="tuned model: a custom model deployment ARN")
    measure.add_sampling_flags(parser, default_out=DEFAULT_OUT)
    parser.add_argument(
        "--fail-if-not-better",
        action="store_true",
        help="exit 1 unless the 95%% interval of the reward difference is above 0",
    )
    parser.set_defaults(run=run)


def tuned_from_stack(ctx: Context, stack: str, region: str) -> str:
    """The tuned model's deployment ARN for the stacks named ``stack`` (made by ``rft deploy-model``)."""
    try:
        from rft import models  # provided by `rft deploy-model`
    except ImportError:
        models = None  # type: ignore[assignment]
    finder = getattr(models, "deployment_for_stack", None) if models is not None else None
    if finder is None:
        raise CliError(
            f"--stack {stack}: finding the tuned model from the stacks needs `rft deploy-model`; "
            "deploy it and pass its ARN with --tuned arn:aws:bedrock:...:custom-model-deployment/..."
        )
    return str(finder(ctx, stack, region))


def paired_bootstrap(
    differences: Sequence[float], *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float]:
    """95% percentile interval of the mean of ``differences`` (one per prompt), prompts resampled."""
    import numpy as np

    values = np.asarray(differences, dtype=float)
    if values.size == 0:
        raise CliError("no prompt has graded samples from both models: nothing to compare", EXIT_FAILURE)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(resamples, values.size))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def compare(base: Sequence[measure.PromptStats], tuned: Sequence[measure.PromptStats]) -> dict[str, Any]:
    """Per-prompt comparison over the prompts both models have graded samples for."""
    paired = [(b, t) for b, t in zip(base, tuned) if b.rewards and t.rewards]
    differences = [t.mean - b.mean for b, t in paired]
    wins = sum(d > measure.EQUAL_TOLERANCE for d in differences)
    losses = sum(d < -measure.EQUAL_TOLERANCE for d in differences)
    low, high = paired_bootstrap(differences)
    return {
        "prompts": len(paired),
        "delta": sum(differences) / len(differences),
        "delta_ci95": [low, high],
        "wins": wins,
        "ties": len(differences) - wins - losses,
        "losses": losses,
        "better": low > 0,
    }


def run(args: argparse.Namespace, ctx: Context) -> int:
    measure.check_counts(args)
    defaults = context_defaults()
    region = measure.region_from(args, defaults)
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
    tuned = args.tuned or tuned_from_stack(ctx, args.stack, region)
    if tuned == base:
        raise CliError(f"--tuned and --base are the same model ({base}): nothing to compare")
    settings = measure.settings_from(args, defaults)
    samples = measure.samples_from(args, defaults)
    spec = core.use_spec(spec_path)
    rows = core.load_rows(data, limit=args.limit, err=ctx.err)
    out = core.output_dir(args.out)
    grader, grade_concurrency, where = measure.grader_for(args, ctx, args.stack, spec)
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
        measure.dump_json(ctx, report)
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
    f = measure.fmt
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
