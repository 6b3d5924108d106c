"""IAM for the LLM judge: `bedrock:InvokeModel` on exactly the configured judge model, and nothing else.

The reward Lambda calls Bedrock Runtime `Converse` on `judge_model_id`. Converse is authorized as
`bedrock:InvokeModel` (ConverseStream would need `bedrock:InvokeModelWithResponseStream`; the judge does not
stream, so that action is not granted). What the resource list must hold depends on the kind of id
(AWS Bedrock user guide, "Geographic cross-Region inference" and "Global cross-Region inference", IAM
policy requirements; docs/contract.md §1):

* a model id (`amazon.nova-pro-v1:0`) or a foundation-model ARN: that model in the stack's region;
* a geographic cross-region inference profile (`us.`, `eu.`, `apac.`, ... + model id) or its ARN: the
  profile ARN in the stack's region, plus the foundation model in the source region and in every region
  the profile routes to. The model grants carry `bedrock:InferenceProfileArn` = the profile, as in AWS's
  example: the role may reach the model in those regions only through this profile;
* a global profile (`global.` + model id): the profile ARN, the model in the stack's region and the
  region-less model ARN `arn:<partition>:bedrock:::foundation-model/<model>` with
  `aws:RequestedRegion = unspecified` (AWS documents all three as required);
* an application inference profile ARN: not supported. The ARN does not say which model (or which
  system profile) it wraps, so the model grants cannot be derived; granting `foundation-model/*` would
  defeat "exactly the judge model". Use the system profile id instead.

Which regions a geographic profile routes to is not in the id: `PROFILE_REGIONS` below is a table of the
profiles we know (from AWS's public docs), and `judge_profile_regions` overrides it. An unknown profile
without an override is a configuration error (see `resolve_judge_model`), raised at synth time.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.judge_model import (
    INVOKE_MODEL,
    JudgeModel,
    JudgeModelError,
    resolve_judge_model,
)


@dataclass(frozen=True)
class _Arns:
    profile: str | None
    regional_models: tuple[str, ...]
    global_model: str | None


class JudgeAccess(Construct):
    """Grants `role` `bedrock:InvokeModel` on exactly the judge model (see the module docstring).

    Also used for the batch inference role's model grant (`sid_prefix="Batch"`): the same rules apply to
    any role that invokes a model or profile.

    Attributes:
        judge: the resolved `JudgeModel`.
        policy: the `iam.Policy` attached to `role` (its own policy, so the judge grant is one resource).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role: iam.IRole,
        model_id: str,
        profile_regions: tuple[str, ...] = (),
        sid_prefix: str = "Judge",
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        if cdk.Token.is_unresolved(stack.region):
            raise JudgeModelError("the judge grant needs a stack with an explicit region (env=...)")
        self.judge = resolve_judge_model(model_id, region=stack.region, profile_regions=profile_regions)
        arns = self._arns(self.judge, stack)
        statements: list[iam.PolicyStatement] = []
        if self.judge.kind == "model":
            statements.append(self._statement(f"{sid_prefix}Model", list(arns.regional_models)))
        else:
            assert arns.profile is not None
            # An ARN is compared with an ARN operator (IAM's guidance; ArnEquals also matches the
            # ARN's structure, not just its characters).
            via = {"ArnEquals": {"bedrock:InferenceProfileArn": arns.profile}}
            global_ = self.judge.kind == "global"
            here = {"StringEquals": {"aws:RequestedRegion": stack.region}} if global_ else {}
            statements.append(self._statement(f"{sid_prefix}InferenceProfile", [arns.profile], here or None))
            statements.append(
                self._statement(f"{sid_prefix}ProfileModels", list(arns.regional_models), {**here, **via})
            )
            if global_ and arns.global_model:
                statements.append(
                    self._statement(
                        f"{sid_prefix}GlobalProfileModel",
                        [arns.global_model],
                        {"StringEquals": {"aws:RequestedRegion": "unspecified"}, **via},
                    )
                )
        self.policy = iam.Policy(self, "Policy", statements=statements)
        role.attach_inline_policy(self.policy)

    @staticmethod
    def _statement(
        sid: str, resources: list[str], conditions: dict[str, dict[str, str | None]] | None = None
    ) -> iam.PolicyStatement:
        return iam.PolicyStatement(
            sid=sid, actions=[INVOKE_MODEL], resources=resources, conditions=conditions or None
        )

    @staticmethod
    def _arns(judge: JudgeModel, stack: cdk.Stack) -> _Arns:
        # A user-given ARN is used verbatim (IAM compares it with the modelId the Lambda sends); otherwise
        # the partition and account are the stack's (tokens when the account is not known at synth).
        partition = judge.partition or stack.partition
        if judge.kind == "model":
            if judge.regions_source == "ARN":
                return _Arns(None, (judge.model_id,), None)
            return _Arns(
                None,
                (f"arn:{partition}:bedrock:{judge.regions[0]}::foundation-model/{judge.base_model}",),
                None,
            )
        profile = judge.profile_arn or (
            f"arn:{partition}:bedrock:{stack.region}:{stack.account}:inference-profile/{judge.model_id}"
        )
        models = tuple(
            f"arn:{partition}:bedrock:{r}::foundation-model/{judge.base_model}" for r in judge.regions
        )
        global_model = (
            f"arn:{partition}:bedrock:::foundation-model/{judge.base_model}"
            if judge.kind == "global"
            else None
        )
        return _Arns(profile, models, global_model)
