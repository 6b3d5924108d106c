"""Preflight, for specs with a judge: the judge model's Bedrock quota in this account beside the demand the
reward Lambda's fan-out can put on it. A report (a log line and the custom resource's data), never a
failure: the judge paces itself to whatever the quota is (docs/judge.md, "Capacity").

Which quota. AWS names the per-model Bedrock Runtime quotas ``On-demand InvokeModel requests per minute
for ${model}`` / ``Cross-Region InvokeModel requests per minute for ${model}`` and the same with ``tokens
per minute`` (Bedrock user guide, "Quotas for Amazon Bedrock" and "Quotas for the bedrock-runtime endpoint";
Amazon Bedrock endpoints and quotas, AWS General Reference). Their quota codes (``L-...``) are not
documented and differ per model, so the quota is found by *name* with ``ListServiceQuotas`` (ServiceCode
``bedrock``), not by a code written here. Since 2026 AWS documents token-per-minute quotas only for the
bedrock-runtime endpoint (requests-per-minute rows were removed): both are looked for, and whichever exists
is reported. ``QUOTA_MODEL_NAMES`` maps model ids to the ``${model}`` in those names — an assumption from
the console's naming of Nova models, to be extended when a model is not found.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

logger = logging.getLogger("job_starter")

SERVICE_CODE = "bedrock"
#: Model id (without a cross-region prefix) -> the model's name in its quota names (assumed, see above).
QUOTA_MODEL_NAMES = {
    "amazon.nova-micro-v1:0": "Amazon Nova Micro",
    "amazon.nova-lite-v1:0": "Amazon Nova Lite",
    "amazon.nova-pro-v1:0": "Amazon Nova Pro",
    "amazon.nova-premier-v1:0": "Amazon Nova Premier",
    "amazon.nova-2-lite-v1:0": "Amazon Nova 2 Lite",
}
#: Planning figure shared with the synth warning (stacks/config.py): samples one invocation grades per second.
SAMPLES_PER_S_PER_INVOCATION = 1.0
_PROFILE_PREFIXES = ("us.", "eu.", "apac.", "jp.", "au.", "ca.", "us-gov.", "global.")


@dataclass(frozen=True)
class JudgeQuota:
    """What the preflight found: the quotas by name, and the expected demand in requests per minute."""

    model_id: str
    requests_per_minute: float | None
    tokens_per_minute: float | None
    demand_requests_per_minute: float
    note: str

    def line(self) -> str:
        """One line for the log and the console."""
        have = []
        if self.requests_per_minute is not None:
            have.append(f"{self.requests_per_minute:,.0f} requests/min")
        if self.tokens_per_minute is not None:
            have.append(f"{self.tokens_per_minute:,.0f} tokens/min")
        quota = " and ".join(have) or "not found in Service Quotas"
        verdict = ""
        if (
            self.requests_per_minute is not None
            and self.demand_requests_per_minute > self.requests_per_minute
        ):
            verdict = " WARNING: the expected demand exceeds the quota; samples may get status deadline."
        return (
            f"judge {self.model_id}: quota {quota}; expected demand up to "
            f"{self.demand_requests_per_minute:,.0f} requests/min.{verdict} {self.note}".strip()
        )


def quota_name_patterns(model_id: str) -> tuple[re.Pattern[str], re.Pattern[str]] | None:
    """Patterns of the (requests, tokens) per-minute quota names for ``model_id``, or None if unknown."""
    base = model_id.rsplit("/", 1)[-1]
    scope = "on-demand"
    for prefix in _PROFILE_PREFIXES:
        if base.startswith(prefix):
            base, scope = base[len(prefix) :], "cross-region"
            break
    name = QUOTA_MODEL_NAMES.get(base)
    if name is None:
        return None
    where = re.escape(scope).replace("\\-", "[- ]?")
    tail = rf"(?:invokemodel|model inference) {{}} per minute for {re.escape(name.lower())}$"
    return (
        re.compile(rf"^{where} " + tail.format("requests"), re.IGNORECASE),
        re.compile(rf"^{where} " + tail.format("tokens"), re.IGNORECASE),
    )


def judge_quota(
    service_quotas: Any, *, model_id: str, reserved_concurrency: int, calls_per_sample: int
) -> JudgeQuota:
    """Read the judge model's quotas (``ListServiceQuotas``, paginated) and the expected demand:
    reserved concurrency x judge calls per sample x 1 sample/s x 60. Never raises."""
    demand = reserved_concurrency * calls_per_sample * SAMPLES_PER_S_PER_INVOCATION * 60
    note = (
        "(demand = reward_reserved_concurrency x judge calls per sample x 1 sample/s per invocation x 60; "
        "see docs/judge.md, Capacity)"
    )
    patterns = quota_name_patterns(model_id)
    if patterns is None:
        return JudgeQuota(model_id, None, None, demand, f"No quota name known for this model. {note}")
    found: dict[int, float] = {}
    try:
        paginator = service_quotas.get_paginator("list_service_quotas")
        for page in paginator.paginate(ServiceCode=SERVICE_CODE):
            for quota in page.get("Quotas", []):
                for i, pattern in enumerate(patterns):
                    if pattern.match(str(quota.get("QuotaName", "")).strip()) and "Value" in quota:
                        found[i] = float(quota["Value"])
    except (ClientError, BotoCoreError) as error:
        reason = getattr(error, "response", {}).get("Error", {}).get("Code") or type(error).__name__
        return JudgeQuota(
            model_id, None, None, demand, f"Service Quotas could not be read ({reason}). {note}"
        )
    return JudgeQuota(model_id, found.get(0), found.get(1), demand, note)
