"""Which Bedrock model a judge id names, and in which regions the reward Lambda must be allowed to invoke it:
the CDK-free half of the judge's IAM (``stacks/constructs/judge_access.py`` builds the statements;
``stacks/config.py`` checks ``judge_model_id`` at synth with the same rules).

See ``stacks/constructs/judge_access.py`` for what AWS documents about each kind of id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Prefixes of system-defined cross-region inference profile ids (`us.amazon.nova-pro-v1:0`).
GEO_PREFIXES: frozenset[str] = frozenset({"us", "eu", "apac", "jp", "au", "ca", "us-gov", "global"})

_US = ("us-east-1", "us-east-2", "us-west-2")
# The EU and APAC Nova profiles' destinations depend on the source region; this is the union AWS lists
# (Bedrock user guide "Supported Regions and models for batch inference", Nova rows, "Regions that support
# the inference profile"). Listing a region the profile never routes to from our source region grants
# nothing usable: every model grant is conditioned on this very profile ARN.
_EU_NOVA = ("eu-central-1", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-3")
_APAC_NOVA = ("ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1", "ap-southeast-2")

#: (geo prefix, model id) -> regions the system-defined profile routes to, from AWS's public docs:
#: Bedrock user guide "Supported Regions and models for inference profiles" (US Nova Pro/Lite/Micro: source
#: and destination us-east-1, us-east-2, us-west-2) and "Supported Regions and models for batch inference"
#: (EU/APAC Nova). Anything not here needs `-c judge_profile_regions=...` (check with
#: `aws bedrock get-inference-profile --inference-profile-identifier <id>`: `models[].modelArn`).
PROFILE_REGIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("us", "amazon.nova-pro-v1:0"): _US,
    ("us", "amazon.nova-lite-v1:0"): _US,
    ("us", "amazon.nova-micro-v1:0"): _US,
    ("us", "amazon.nova-2-lite-v1:0"): _US,
    ("eu", "amazon.nova-pro-v1:0"): _EU_NOVA,
    ("eu", "amazon.nova-lite-v1:0"): _EU_NOVA,
    ("eu", "amazon.nova-micro-v1:0"): _EU_NOVA,
    ("apac", "amazon.nova-pro-v1:0"): _APAC_NOVA,
    ("apac", "amazon.nova-lite-v1:0"): _APAC_NOVA,
    ("apac", "amazon.nova-micro-v1:0"): _APAC_NOVA,
}

#: The one action Converse needs.
INVOKE_MODEL = "bedrock:InvokeModel"

# The shapes `judge_model_id` may take (stacks/config.py checks them for every spec, this module for a judge).
# A model id (`amazon.nova-pro-v1:0`); the provider part may carry a profile prefix (`us.`, `global.`).
_MODEL_ID = re.compile(r"[a-z0-9-]+\.[A-Za-z0-9._-]+(?::[A-Za-z0-9]+)*")
_ARN = re.compile(
    r"arn:(?P<partition>aws(?:-[a-z-]+)?):bedrock:(?P<region>[a-z0-9-]*):(?P<account>\d{0,12}):"
    r"(?P<kind>foundation-model|inference-profile|application-inference-profile)/(?P<id>[A-Za-z0-9._:-]+)"
)
#: What `judge_model_id` may be, for messages.
JUDGE_MODEL_FORMS = (
    "a Bedrock model id (amazon.nova-pro-v1:0), an inference profile id (us.amazon.nova-pro-v1:0) "
    "or an inference-profile ARN"
)


class JudgeModelError(ValueError):
    """The judge model cannot be granted exactly; the message says what to configure instead."""


@dataclass(frozen=True)
class JudgeModel:
    """What the configured judge id means for IAM (plain strings; ARNs are built by `JudgeAccess`).

    Attributes:
        model_id: the configured `judge_model_id`, as the Lambda passes it to Converse.
        kind: "model", "profile" (geographic cross-region profile) or "global" (global profile).
        base_model: the foundation model id (the profile id without its geo prefix).
        regions: for "model", the model's region; for "profile", the source region and every region it
            routes to; for "global", the source region (the region-less ARN covers the rest).
        profile_arn: the profile ARN when the id was given as an ARN (used as-is), else None.
        partition: the ARN partition when given as an ARN, else None (the stack's partition).
        regions_source: "stack region", "built-in table", "judge_profile_regions" or "ARN".
    """

    model_id: str
    kind: str
    base_model: str
    regions: tuple[str, ...]
    profile_arn: str | None = None
    partition: str | None = None
    regions_source: str = "stack region"

    @property
    def profile_id(self) -> str | None:
        """The system-defined profile id (`us.amazon.nova-pro-v1:0`), or None for a plain model."""
        if self.kind == "model":
            return None
        return self.profile_arn.rsplit("/", 1)[-1] if self.profile_arn else self.model_id


def is_judge_model_id(value: str) -> bool:
    """Whether `value` has the shape of a judge model: a model or profile id, or a Bedrock model/profile ARN."""
    return bool(_MODEL_ID.fullmatch(value) or _ARN.fullmatch(value))


def split_profile_id(model_id: str) -> tuple[str, str] | None:
    """(geo prefix, model id) of a system-defined profile id, or None when `model_id` is not one."""
    prefix, dot, rest = model_id.partition(".")
    if dot and prefix in GEO_PREFIXES and "." in rest:
        return prefix, rest
    return None


def _regions_hint(profile_id: str, example: str) -> str:
    return (
        f"set the regions the profile routes to: npx cdk synth -c judge_profile_regions={example}\n"
        f"  (find them with: aws bedrock get-inference-profile --inference-profile-identifier {profile_id}"
        " --query 'models[].modelArn'), or pick a profile the built-in table knows: "
        + ", ".join(f"{geo}.{model}" for geo, model in PROFILE_REGIONS)
    )


def resolve_judge_model(model_id: str, *, region: str, profile_regions: tuple[str, ...] = ()) -> JudgeModel:
    """Interpret `judge_model_id` for a stack in `region`; raise `JudgeModelError` when IAM cannot be exact.

    `profile_regions` (context `judge_profile_regions`) replaces the built-in table for a geographic
    profile. The source region (`region`) is always granted too, as AWS requires.
    """
    if not is_judge_model_id(model_id):
        raise JudgeModelError(f"judge_model_id {model_id!r} is not {JUDGE_MODEL_FORMS}")
    partition: str | None = None
    profile_arn: str | None = None
    identifier = model_id
    match = _ARN.fullmatch(model_id)
    if match:
        partition = match["partition"]
        if match["kind"] == "application-inference-profile":
            raise JudgeModelError(
                f"judge_model_id {model_id!r} is an application inference profile: its ARN does not say "
                "which foundation model (or which cross-region profile) it wraps, so the reward Lambda's "
                "role cannot be limited to exactly that model. Use the model's system-defined profile id "
                "instead, e.g. -c judge_model_id=us.amazon.nova-pro-v1:0 (costs tracked by application "
                "profiles are then not available for the judge)."
            )
        if match["region"] != region:
            raise JudgeModelError(
                f"judge_model_id {model_id!r} is in region {match['region'] or '(none)'!r}, but the reward "
                f"Lambda runs in {region!r} and calls Bedrock there. Use the {region} ARN, or the id alone "
                "(e.g. us.amazon.nova-pro-v1:0)."
            )
        identifier = match["id"]
        if match["kind"] == "foundation-model":
            if split_profile_id(identifier):
                raise JudgeModelError(f"judge_model_id {model_id!r}: a foundation model id has no geo prefix")
            return JudgeModel(model_id, "model", identifier, (region,), None, partition, "ARN")
        profile_arn = model_id
    profile = split_profile_id(identifier)
    if profile is None:
        if profile_arn:
            raise JudgeModelError(
                f"judge_model_id {model_id!r}: not a cross-region inference profile id "
                f"(expected one of the prefixes {', '.join(sorted(GEO_PREFIXES))})"
            )
        return JudgeModel(model_id, "model", identifier, (region,))
    geo, base_model = profile
    if geo == "global":
        return JudgeModel(model_id, "global", base_model, (region,), profile_arn, partition, "global")
    if profile_regions:
        routed, source = profile_regions, "judge_profile_regions"
    elif (geo, base_model) in PROFILE_REGIONS:
        routed, source = PROFILE_REGIONS[(geo, base_model)], "built-in table"
        if region not in routed:
            raise JudgeModelError(
                f"judge_model_id {model_id!r} is a {geo.upper()} profile, which routes to "
                f"{', '.join(routed)}; it cannot be called from the stack's region {region!r}. Pick a "
                f"profile of {region}'s geography (e.g. us.{base_model} for us-east-1)."
            )
    else:
        example = ",".join(_US) if geo == "us" else "<region>,<region>"
        raise JudgeModelError(
            f"judge_model_id {model_id!r} is a cross-region inference profile that the built-in table does "
            "not know, so the regions it routes to (whose foundation-model ARNs the reward Lambda's role "
            "must be allowed) are unknown.\n  " + _regions_hint(identifier, example)
        )
    regions = tuple(dict.fromkeys((region, *routed)))
    return JudgeModel(model_id, "profile", base_model, regions, profile_arn, partition, source)
