"""The one models module (no CDK import: the stacks and ``rft`` both use it): which model id to *call* for a
model you *train* — the one mapping from a Bedrock training id (the
``base_model_id`` context key, e.g. ``amazon.nova-2-lite-v1:0:256k``) to the id Bedrock Runtime's
``Converse`` accepts for on-demand inference.

AWS documents (Amazon Nova 2 user guide, "Core inference") that Nova 2 Lite is called through the
cross-region inference profiles ``us.amazon.nova-2-lite-v1:0`` and ``global.amazon.nova-2-lite-v1:0``;
the ``:256k`` training id is not an inference id. We pick the geographic profile of the region's
geography (``us.`` for ``us-*``, ``eu.`` for ``eu-*``, ``apac.`` for ``ap-*``) and fall back to ``global.``
elsewhere; pass ``--model`` to choose another (e.g. the ``global.`` profile, or a deployment ARN).
"""

from __future__ import annotations

#: Base models that support reinforcement fine-tuning on Bedrock -> regions where they do.
#: AWS's RFT docs list only Nova 2 Lite, in us-east-1, at the time of writing (docs/contract.md §3).
RFT_MODELS: dict[str, tuple[str, ...]] = {"amazon.nova-2-lite-v1:0:256k": ("us-east-1",)}

#: The context window of the 256k model: prompt plus generated tokens must fit in it.
MAX_CONTEXT_TOKENS = 262_144

#: Training id -> the foundation model behind it (the inference profiles below route to it).
TRAINING_TO_FOUNDATION: dict[str, str] = {
    "amazon.nova-2-lite-v1:0:256k": "amazon.nova-2-lite-v1:0",
}

#: Region prefix -> inference-profile prefix, for the geographies AWS publishes Nova 2 profiles in.
#: Documented: ``us.`` and ``global.`` for Nova 2 Lite; ``eu.``/``apac.`` follow AWS's naming and are
#: assumed (an id Bedrock does not know fails at once with a ValidationException naming it).
GEOGRAPHY_PREFIX: dict[str, str] = {"us-": "us.", "eu-": "eu.", "ap-": "apac."}
GLOBAL_PREFIX = "global."

_PROFILE_PREFIXES = ("us.", "eu.", "apac.", "global.", "us-gov.", "ca.", "jp.", "au.")


def inference_model_id(base_model_id: str, region: str) -> str:
    """The on-demand id to call for ``base_model_id`` (a training id, its foundation-model ARN, or already
    an inference id / profile / deployment ARN, returned as is)."""
    model = base_model_id.strip()
    if model.startswith("arn:") and ":foundation-model/" in model:
        model = model.rsplit("/", 1)[-1]
    elif model.startswith("arn:"):
        return model  # an inference-profile, custom-model-deployment or provisioned-throughput ARN
    if model.startswith(_PROFILE_PREFIXES):
        return model
    foundation = TRAINING_TO_FOUNDATION.get(model, model)
    for region_prefix, profile_prefix in GEOGRAPHY_PREFIX.items():
        if region.startswith(region_prefix):
            return profile_prefix + foundation
    return GLOBAL_PREFIX + foundation


def foundation_of(model_id: str) -> str:
    """The foundation model an id refers to (profile prefix and training suffix stripped), for pricing."""
    model = model_id.rsplit("/", 1)[-1] if model_id.startswith("arn:") else model_id
    for prefix in _PROFILE_PREFIXES:
        if model.startswith(prefix):
            model = model[len(prefix) :]
            break
    return TRAINING_TO_FOUNDATION.get(model, model)


def is_deployment_arn(model_id: str) -> bool:
    """A custom model deployment (what ``rft deploy-model`` makes) rather than a base model."""
    return model_id.startswith("arn:") and ":custom-model-deployment/" in model_id
