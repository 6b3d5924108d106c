"""The reward stack's dashboard, alarms and notification topic, read from the synthesized templates.

The dashboard body is a `Fn::Join` of JSON text and references; it is resolved to JSON here (references
become `<LogicalId>` / `<LogicalId.Attr>`), so the tests read the widgets exactly as CloudWatch will. The
central property: every charted metric is either an AWS/Lambda metric of the reward function or a name
from `reward.metric_names` (what the Lambda emits) in the deployment's namespace with `service=reward`.

Two apps, each synthesized once: cdk.json's defaults (gsm8k, no judge, S3-managed encryption, no job), and
a judge spec (support_rubric.toml) with a KMS key, an email, a started job and overridden thresholds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from reward import metric_names
from reward.results import STATUSES
from stacks.constructs.job_notifications import job_state_rule_name
from stacks.constructs.reward_dashboard import dashboard_url
from stacks.constructs.reward_metrics import RewardMetrics
from tests.conftest import Apps, SynthesizedApp

pytestmark = pytest.mark.slow

LAMBDA_METRICS = {"Invocations", "Errors", "Throttles", "ConcurrentExecutions", "Duration"}
JUDGE_METRICS = set(metric_names.JUDGE_DIAGNOSTICS.values())
EMAIL = "ml-team@example.com"


@dataclass
class Reward:
    """The reward stack of one synthesized app, with its dashboard resolved to JSON."""

    app: SynthesizedApp

    @property
    def template(self) -> dict[str, Any]:
        return self.app.templates["reward"]

    @property
    def stack(self) -> Any:
        return self.app.built.reward

    def resources(self, type_: str) -> dict[str, dict[str, Any]]:
        return self.app.resources("reward", type_)

    def only(self, type_: str) -> tuple[str, dict[str, Any]]:
        return self.app.only("reward", type_)

    @property
    def function_ref(self) -> str:
        return f"<{self.app.logical_id(self.stack.function)}>"

    @property
    def dashboard(self) -> dict[str, Any]:
        _, dashboard = self.only("AWS::CloudWatch::Dashboard")
        return json.loads(resolve_join(dashboard["Properties"]["DashboardBody"]))

    @property
    def widgets(self) -> list[dict[str, Any]]:
        return self.dashboard["widgets"]

    @property
    def alarms(self) -> dict[str, dict[str, Any]]:
        """Alarm properties by alarm name."""
        found = self.resources("AWS::CloudWatch::Alarm")
        return {a["Properties"]["AlarmName"]: a["Properties"] for a in found.values()}

    def alarm(self, short_name: str) -> dict[str, Any]:
        return self.alarms[f"{self.app.built.config.name_prefix}-reward-{short_name}"]


def resolve_join(value: Any) -> str:
    """A `Fn::Join` of strings and references as text; references read `<Id>` or `<Id.Attr>`."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        delimiter, parts = value["Fn::Join"]
        return delimiter.join(resolve_join(p) for p in parts)
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    raise AssertionError(f"unexpected value in the dashboard body: {value!r}")


@dataclass(frozen=True)
class Charted:
    """One metric line of a graph widget."""

    namespace: str
    name: str
    dimensions: dict[str, str]
    options: dict[str, Any]

    @property
    def stat(self) -> str:
        return self.options.get("stat", "Average")  # CloudWatch's default, omitted by CDK


def metric_lines(widget: dict[str, Any]) -> list[Charted]:
    """The metrics of a widget (expressions left out: `expressions` lists them)."""
    lines = []
    for line in widget.get("properties", {}).get("metrics", []):
        options = line[-1] if isinstance(line[-1], dict) else {}
        values = line[:-1] if options is line[-1] else line
        if not values:  # a math expression: [{"expression": ...}]
            continue
        namespace, name, *pairs = values
        lines.append(Charted(namespace, name, dict(zip(pairs[::2], pairs[1::2], strict=True)), options))
    return lines


def expressions(widget: dict[str, Any]) -> list[str]:
    return [
        line[0]["expression"]
        for line in widget.get("properties", {}).get("metrics", [])
        if len(line) == 1 and "expression" in line[0]
    ]


def titled(reward: Reward, start: str) -> dict[str, Any]:
    (widget,) = [w for w in reward.widgets if w.get("properties", {}).get("title", "").startswith(start)]
    return widget


@pytest.fixture(scope="module")
def default(default_app: SynthesizedApp) -> Reward:
    """cdk.json's defaults: gsm8k (no judge), S3-managed encryption, no job, no email."""
    return Reward(default_app)


@pytest.fixture(scope="module")
def judge(apps: Apps) -> Reward:
    """A judge spec, a KMS key, an email, a started job, a longer timeout and overridden thresholds."""
    return Reward(apps["judge"])


@pytest.fixture(params=["default", "judge"])
def reward(request: pytest.FixtureRequest) -> Reward:
    return request.getfixturevalue(request.param)


# --- the dashboard ------------------------------------------------------------------------------------


def test_dashboard_is_named_after_the_prefix_and_its_url_is_an_output(default: Reward) -> None:
    """One dashboard per deployment, and the DashboardUrl output opens it in the stack's region."""
    _, dashboard = default.only("AWS::CloudWatch::Dashboard")
    assert dashboard["Properties"]["DashboardName"] == "nova-rft-reward"
    assert default.template["Outputs"]["DashboardUrl"]["Value"] == (
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
        "#dashboards/dashboard/nova-rft-reward"
    )


def test_a_text_widget_at_the_top_says_what_the_dashboard_shows(reward: Reward) -> None:
    """A reader who opens the page first learns what it shows and how to read it."""
    first = min(reward.widgets, key=lambda w: (w["y"], w["x"]))
    assert first["type"] == "text"
    markdown = first["properties"]["markdown"]
    assert "p10" in markdown and "p50" in markdown and "timeout" in markdown
    assert reward.stack.metrics_namespace in markdown


def test_every_charted_metric_is_the_functions_or_one_the_lambda_emits(reward: Reward) -> None:
    """One source of truth: a dashboard name that the Lambda does not emit would chart nothing."""
    dimensions = [d.name for d in reward.stack.spec.dimensions]
    emitted = set(metric_names.metric_names(dimensions, judge=reward.stack.uses_judge))
    assert reward.stack.metrics_namespace == f"NovaRft/{reward.app.built.config.name_prefix}"
    lines = [line for widget in reward.widgets for line in metric_lines(widget)]
    assert len(lines) > 30
    for line in lines:
        if line.namespace == "AWS/Lambda":
            assert line.name in LAMBDA_METRICS, line
            assert line.dimensions == {"FunctionName": reward.function_ref}, line
        else:
            assert line.namespace == reward.stack.metrics_namespace, line
            assert line.dimensions == {metric_names.SERVICE_DIMENSION: metric_names.SERVICE}, line
            assert line.name in emitted, line


def test_every_metric_the_lambda_emits_is_charted(reward: Reward) -> None:
    """Nothing the Lambda pays to emit is left off the page (Status.ok is the complement of the rest)."""
    dimensions = [d.name for d in reward.stack.spec.dimensions]
    emitted = set(metric_names.metric_names(dimensions, judge=reward.stack.uses_judge))
    charted = {line.name for widget in reward.widgets for line in metric_lines(widget)}
    assert emitted - charted == {metric_names.status_count("ok")}


def test_graph_widgets_chart_only_this_regions_metrics(reward: Reward) -> None:
    """The widgets read the stack's region (a hard-coded region would chart an empty page elsewhere)."""
    graphs = [w for w in reward.widgets if w["type"] == "metric"]
    assert graphs and all(w["properties"]["region"] == "<AWS::Region>" for w in graphs)


def test_aggregate_reward_shows_mean_and_percentiles_on_the_reward_scale(reward: Reward) -> None:
    """Mean, p10, p50 and p90 of Reward, on a fixed -1..1 axis so runs compare at a glance."""
    widget = titled(reward, "Reward per sample")
    lines = metric_lines(widget)
    assert {line.name for line in lines} == {metric_names.REWARD}
    assert sorted(line.stat for line in lines) == ["Average", "p10", "p50", "p90"]
    axis = widget["properties"]["yAxis"]["left"]
    assert (axis["min"], axis["max"]) == (-1, 1)


def test_each_spec_dimension_has_its_reward_widget(reward: Reward) -> None:
    """Per-dimension rewards show which part of the spec the model learns (or games)."""
    dimensions = [d.name for d in reward.stack.spec.dimensions]
    assert dimensions
    for dimension in dimensions:
        widget = titled(reward, f"Reward of dimension {dimension}:")
        lines = metric_lines(widget)
        assert {line.name for line in lines} == {metric_names.dimension_reward(dimension)}
        assert sorted(line.stat for line in lines) == ["Average", "p10", "p50", "p90"]


def test_non_ok_statuses_are_counted_per_status(reward: Reward) -> None:
    """Every status but ok has its own stacked line, so a spike names its cause."""
    widget = titled(reward, "Dimension results whose status is not ok")
    lines = metric_lines(widget)
    assert [line.name for line in lines] == [metric_names.status_count(s) for s in STATUSES if s != "ok"]
    assert {line.stat for line in lines} == {"Sum"}


def test_failed_status_rate_is_failed_statuses_over_results(reward: Reward) -> None:
    """The rate the alarm watches: sum(FAILED_STATUSES) / Results, missing counts filled with 0."""
    widget = titled(reward, "Failed-status rate")
    (expression,) = expressions(widget)
    lines = metric_lines(widget)
    ids = {line.options["id"]: line.name for line in lines}
    failed = {f"status_{s}": metric_names.status_count(s) for s in metric_names.FAILED_STATUSES}
    assert ids == failed | {"results": metric_names.RESULTS}
    assert expression == "(" + " + ".join(f"FILL({i}, 0)" for i in failed) + ") / results"
    assert {line.stat for line in lines} == {"Sum"}
    threshold = reward.app.built.config.alarm_non_ok_rate
    assert widget["properties"]["annotations"]["horizontal"][0]["value"] == threshold


def test_batch_size_and_grading_latency_are_charted(reward: Reward) -> None:
    """How big the batches are and how long grading takes, against the Lambda timeout."""
    assert {line.name for line in metric_lines(titled(reward, "Batch size"))} == {metric_names.BATCH_SIZE}
    latency = titled(reward, "Grading latency")
    assert {line.name for line in metric_lines(latency)} == {metric_names.GRADING_LATENCY}
    timeout_ms = reward.app.built.config.reward_timeout_s * 1000
    assert latency["properties"]["annotations"]["horizontal"][0]["value"] == timeout_ms


def test_lambda_widgets_show_invocations_errors_throttles_and_concurrency(reward: Reward) -> None:
    """The Lambda's own view: load, failures, throttling and concurrency."""
    calls = metric_lines(titled(reward, "Lambda invocations, errors, throttles"))
    assert {(line.name, line.stat) for line in calls} == {
        ("Invocations", "Sum"),
        ("Errors", "Sum"),
        ("Throttles", "Sum"),
    }
    (concurrency,) = metric_lines(titled(reward, "Lambda concurrent executions"))
    assert (concurrency.name, concurrency.stat) == ("ConcurrentExecutions", "Maximum")


def test_duration_p50_and_p99_are_drawn_against_the_timeout(reward: Reward) -> None:
    """Duration close to the timeout means batches end in `deadline`: the timeout is a red line."""
    widget = titled(reward, "Lambda duration")
    assert sorted(line.stat for line in metric_lines(widget)) == ["p50", "p99"]
    timeout_ms = reward.app.built.config.reward_timeout_s * 1000
    lines = {a["label"]: a["value"] for a in widget["properties"]["annotations"]["horizontal"]}
    assert lines["timeout"] == timeout_ms
    assert lines["alarm (80% of the timeout)"] == pytest.approx(0.8 * timeout_ms)


def test_judge_widgets_exist_exactly_when_the_spec_uses_the_judge(default: Reward, judge: Reward) -> None:
    """Calls, throttles, retries and tokens for a judge spec; nothing judge-related without one."""
    assert not default.stack.uses_judge and judge.stack.uses_judge

    def judge_names(reward: Reward) -> set[str]:
        return {line.name for w in reward.widgets for line in metric_lines(w)} & JUDGE_METRICS

    assert judge_names(default) == set()
    assert not [w for w in default.widgets if "Judge" in w.get("properties", {}).get("title", "")]
    assert judge_names(judge) == JUDGE_METRICS
    (expression,) = expressions(titled(judge, "Judge throttle rate"))
    assert expression == "FILL(throttles, 0) / calls"


def test_the_judge_pacing_widget_charts_the_throttle_share_against_the_pacing_rate(judge: Reward) -> None:
    """Throttle share (left) and JudgePacingRate (right): is the fan-out asking for more than the quota?"""
    widget = titled(judge, "Judge throttle rate")
    assert metric_names.JUDGE_PACING_RATE in {line.name for line in metric_lines(widget)}


def test_the_judge_throttle_alarm_fires_only_when_the_share_stays_high(judge: Reward) -> None:
    """Pacing probes above the quota: one period over the threshold is normal, three in a row are not."""
    alarm = judge.alarm("judge-throttle-rate")
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (3, 3)
    assert "reward_reserved_concurrency" in alarm["AlarmDescription"]


def test_the_alarm_widget_shows_every_alarm(reward: Reward) -> None:
    """The page shows the alarms' states next to the charts."""
    (widget,) = [w for w in reward.widgets if w["type"] == "alarm"]
    alarm_ids = reward.resources("AWS::CloudWatch::Alarm")
    assert sorted(widget["properties"]["alarms"]) == sorted(f"<{i}.Arn>" for i in alarm_ids)


# --- the alarms ---------------------------------------------------------------------------------------


def test_default_alarms_and_thresholds(default: Reward) -> None:
    """Errors and throttles > 0, duration p99 > 80% of 300 s, failed-status rate > 0.05; no judge alarm."""
    alarms = default.alarms
    assert sorted(alarms) == [
        "nova-rft-reward-charged-failure-rate",
        "nova-rft-reward-duration-p99",
        "nova-rft-reward-errors",
        "nova-rft-reward-failed-status-rate",
        "nova-rft-reward-throttles",
    ]
    function = [{"Name": "FunctionName", "Value": {"Ref": default.app.logical_id(default.stack.function)}}]
    errors, throttles = default.alarm("errors"), default.alarm("throttles")
    for alarm, name in ((errors, "Errors"), (throttles, "Throttles")):
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/Lambda", name, "Sum")
        assert alarm["Dimensions"] == function
        assert alarm["Threshold"] == 0 and alarm["Period"] == 300
    duration = default.alarm("duration-p99")
    assert (duration["MetricName"], duration["ExtendedStatistic"]) == ("Duration", "p99")
    assert duration["Threshold"] == 0.8 * 300 * 1000
    assert (duration["EvaluationPeriods"], duration["DatapointsToAlarm"]) == (3, 2)
    assert default.alarm("failed-status-rate")["Threshold"] == 0.05


def test_charged_failures_have_their_own_rate_widget_and_alarm(reward: Reward) -> None:
    """A policy breaking the grader (or a bug of ours) is charged to the response, silently for training:
    its share is charted and alarmed on so that someone looks."""
    widget = titled(reward, "Charged-failure rate")
    (expression,) = expressions(widget)
    ids = {line.options["id"]: line.name for line in metric_lines(widget)}
    charged = {f"status_{s}": metric_names.status_count(s) for s in metric_names.CHARGED_FAILURES}
    assert set(metric_names.CHARGED_FAILURES) == {"failed", "timeout"}
    assert ids == charged | {"results": metric_names.RESULTS}
    assert expression == "(" + " + ".join(f"FILL({i}, 0)" for i in charged) + ") / results"
    alarm = reward.alarm("charged-failure-rate")
    assert alarm["Threshold"] == 0.05 and (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (3, 2)


def test_thresholds_come_from_context(judge: Reward) -> None:
    """alarm_non_ok_rate, alarm_judge_throttle_rate and reward_timeout_s set the thresholds."""
    assert judge.alarm("failed-status-rate")["Threshold"] == 0.1
    assert judge.alarm("judge-throttle-rate")["Threshold"] == 0.3
    assert judge.alarm("duration-p99")["Threshold"] == 0.8 * 600 * 1000


def test_rate_alarms_use_the_dashboards_metric_math(judge: Reward) -> None:
    """The alarms watch the very expressions charted on the dashboard, over 5-minute periods."""
    failed = judge.alarm("failed-status-rate")["Metrics"]
    (expression,) = [m for m in failed if "Expression" in m]
    assert expression["Expression"] == expressions(titled(judge, "Failed-status rate"))[0]
    assert expression["ReturnData"] is True
    used = {m["Id"]: m["MetricStat"] for m in failed if "MetricStat" in m}
    assert {s["Metric"]["MetricName"] for s in used.values()} == {
        metric_names.status_count(s) for s in metric_names.FAILED_STATUSES
    } | {metric_names.RESULTS}
    for stat in used.values():
        assert stat["Metric"]["Namespace"] == judge.stack.metrics_namespace
        assert stat["Metric"]["Dimensions"] == [{"Name": "service", "Value": "reward"}]
        assert (stat["Stat"], stat["Period"]) == ("Sum", 300)
    throttle = judge.alarm("judge-throttle-rate")["Metrics"]
    used = {m["Id"]: m["MetricStat"]["Metric"]["MetricName"] for m in throttle if "MetricStat" in m}
    assert used == {"throttles": metric_names.JUDGE_THROTTLES, "calls": metric_names.JUDGE_CALLS}


def test_every_alarm_notifies_the_topic_and_ignores_missing_data(reward: Reward) -> None:
    """ALARM and OK go to the topic; no invocations (between steps, before the job) is not a breach."""
    topic, _ = reward.only("AWS::SNS::Topic")
    for name, alarm in reward.alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": topic}], name
        assert alarm["OKActions"] == [{"Ref": topic}], name
        assert alarm["TreatMissingData"] == "notBreaching", name
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold", name


def test_every_alarm_says_what_it_means_and_what_to_do(reward: Reward) -> None:
    """Whoever gets the email must know what to do without reading the code."""
    for name, alarm in reward.alarms.items():
        description = alarm["AlarmDescription"]
        assert 150 < len(description) <= 1024, name
        assert any(verb in description.lower() for verb in ("raise", "request", "fix", "open")), name
    assert "alarm_non_ok_rate" in reward.alarm("failed-status-rate")["AlarmDescription"]


# --- the notification topic ---------------------------------------------------------------------------


def topic_statements(reward: Reward) -> list[dict[str, Any]]:
    _, policy = reward.only("AWS::SNS::TopicPolicy")
    return policy["Properties"]["PolicyDocument"]["Statement"]


def test_topic_policy_without_a_job_lets_only_the_alarms_publish_over_tls(default: Reward) -> None:
    """TLS only; CloudWatch may publish for exactly our alarms of this account; no EventBridge rule."""
    topic, _ = default.only("AWS::SNS::Topic")
    alarm_arns = [{"Fn::GetAtt": [i, "Arn"]} for i in default.resources("AWS::CloudWatch::Alarm")]
    assert topic_statements(default) == [
        {
            "Action": "sns:Publish",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": "*",
            "Resource": {"Ref": topic},
            "Sid": "AllowPublishThroughSSLOnly",
        },
        {
            "Action": "sns:Publish",
            "Condition": {
                "ArnEquals": {"aws:SourceArn": alarm_arns},
                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
            },
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Resource": {"Ref": topic},
            "Sid": "RewardAlarmsPublish",
        },
    ]


def test_topic_policy_with_a_job_also_lets_exactly_the_job_state_rule_publish(judge: Reward) -> None:
    """EventBridge may publish only for the rule named <prefix>-job-state, which the training stack owns."""
    topic, _ = judge.only("AWS::SNS::Topic")
    statements = {s["Sid"]: s for s in topic_statements(judge)}
    assert sorted(statements) == [
        "AllowPublishThroughSSLOnly",
        "JobStateRulePublishes",
        "RewardAlarmsPublish",
    ]
    rule = statements["JobStateRulePublishes"]
    assert rule["Principal"] == {"Service": "events.amazonaws.com"}
    assert (rule["Action"], rule["Resource"], rule["Effect"]) == ("sns:Publish", {"Ref": topic}, "Allow")
    assert resolve_join(rule["Condition"]["ArnEquals"]["aws:SourceArn"]) == (
        "arn:aws:events:us-east-1:<AWS::AccountId>:rule/nova-rft-job-state"
    )
    alarms = statements["RewardAlarmsPublish"]["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert sorted(a["Fn::GetAtt"][0] for a in alarms) == sorted(judge.resources("AWS::CloudWatch::Alarm"))
    (training_rule,) = judge.app.resources("training", "AWS::Events::Rule").values()
    assert training_rule["Properties"]["Name"] == job_state_rule_name("nova-rft") == "nova-rft-job-state"


def test_topic_has_its_own_key_only_with_kms(default: Reward, judge: Reward) -> None:
    """With kms the topic uses a small key of its own (not the data key); with s3-managed it is not
    encrypted (documented)."""
    assert "KmsMasterKeyId" not in default.only("AWS::SNS::Topic")[1]["Properties"]
    reference = judge.only("AWS::SNS::Topic")[1]["Properties"]["KmsMasterKeyId"]
    (topic_key,) = judge.resources("AWS::KMS::Key")
    assert reference == {"Fn::GetAtt": [topic_key, "Arn"]}
    assert judge.resources("AWS::KMS::Key")[topic_key]["Properties"]["EnableKeyRotation"] is True


def test_topic_key_policy_lets_eventbridge_and_cloudwatch_use_it(judge: Reward) -> None:
    """Without these statements encrypted-topic deliveries fail silently (SNS developer guide)."""
    (key,) = judge.resources("AWS::KMS::Key").values()
    statements = {s.get("Sid"): s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    events = statements["EventBridgePublishesToEncryptedTopics"]
    assert events["Principal"] == {"Service": "events.amazonaws.com"}
    assert sorted(events["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert "Condition" not in events  # SNS: not supported for EventBridge, deliveries would fail
    cloudwatch = statements["CloudWatchAlarmsPublishToEncryptedTopics"]
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert sorted(cloudwatch["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert cloudwatch["Resource"] == "*"
    assert cloudwatch["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_the_data_key_names_no_unconditioned_service_principal(judge: Reward) -> None:
    """The key of datasets, job output and the custom model: only CloudWatch Logs, only for our log groups."""
    (key,) = judge.app.resources("data", "AWS::KMS::Key").values()
    services = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if "Service" in s["Principal"]]
    assert [s["Sid"] for s in services] == ["CloudWatchLogsEncryptsThisAppsLogGroups"]
    assert all("Condition" in s for s in services)


def test_email_subscription_lives_with_the_topic(default: Reward, judge: Reward) -> None:
    """notification_email subscribes to the reward stack's topic; no email, no subscription."""
    assert default.resources("AWS::SNS::Subscription") == {}
    (subscription,) = judge.resources("AWS::SNS::Subscription").values()
    assert (subscription["Properties"]["Protocol"], subscription["Properties"]["Endpoint"]) == (
        "email",
        EMAIL,
    )


def test_the_kms_judge_variant_is_nag_clean(judge: Reward) -> None:
    """Zero unacknowledged AwsSolutions/Serverless findings in the reward stack with every option on."""
    for pack in (AwsSolutionsChecks(), ServerlessChecks()):
        report = pack.validate_scope(judge.stack)
        assert report.success, [
            (v.rule_name, [r.construct_path for r in v.violating_resources]) for v in report.violations
        ]


# --- helpers (no synthesis) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "domain"),
    [
        ("us-east-1", "console.aws.amazon.com"),
        ("cn-north-1", "console.amazonaws.cn"),
        ("us-gov-west-1", "console.amazonaws-us-gov.com"),
    ],
)
def test_dashboard_url_uses_the_partitions_console(region: str, domain: str) -> None:
    """China and GovCloud consoles live on other domains; a wrong one is a dead link."""
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(region=region))
    assert dashboard_url(stack, "d") == (
        f"https://{region}.{domain}/cloudwatch/home?region={region}#dashboards/dashboard/d"
    )


def test_dashboard_url_of_a_region_agnostic_stack_uses_the_deploy_region() -> None:
    """Without a region at synth time the URL takes the region CloudFormation deploys to."""
    stack = cdk.Stack(cdk.App(), "S")
    assert stack.resolve(dashboard_url(stack, "d")) == {
        "Fn::Join": [
            "",
            [
                "https://",
                {"Ref": "AWS::Region"},
                ".console.aws.amazon.com/cloudwatch/home?region=",
                {"Ref": "AWS::Region"},
                "#dashboards/dashboard/d",
            ],
        ]
    }


def test_reward_metrics_refuse_a_name_the_lambda_does_not_emit() -> None:
    """A typo in a metric name fails at synth, not as an empty chart during a run."""
    metrics = RewardMetrics("NovaRft/x")
    assert metrics.metric(metric_names.dimension_reward("accuracy")).metric_name == "Reward.accuracy"
    with pytest.raises(ValueError, match="Rewards"):
        metrics.metric("Rewards")


# --- end to end: what the handler prints is what the dashboard charts ------------------------------


def support_event(n: int) -> list[dict[str, Any]]:
    """Rows of the support dataset answered with their reference replies, as Bedrock would send them."""
    rows = [
        json.loads(line)
        for line in (Path(__file__).resolve().parents[1] / "data/support/train.jsonl")
        .read_text()
        .splitlines()[:n]
    ]
    return [
        {
            "id": f"s{i}",
            "messages": [
                *row["messages"],
                {"role": "assistant", "content": row["reference_answer"]["answer"]},
            ],
            "metadata": {"reference_answer": row["reference_answer"]},
        }
        for i, row in enumerate(rows)
    ]


GSM8K_EVENT = [
    {
        "id": f"g{i}",
        "messages": [
            {"role": "user", "content": "How many? End with #### <answer>"},
            {"role": "assistant", "content": answer},
        ],
        "metadata": {"reference_answer": {"final_answer": "42"}},
    }
    for i, answer in enumerate(["6 * 7 = 42.\n#### 42", "#### 41", "no idea", "#### 42"])
]


def test_the_handlers_emf_is_valid_and_charted_by_the_dashboard(
    reward: Reward, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Grade as the deployed function would (same spec, namespace and env): every EMF line
    passes AWS's schema, lands in the dashboard's namespace and dimension, and every name it prints is
    charted (Status.ok is the complement of the charted statuses) — and every charted custom metric is
    printed."""
    from reward.grading import grade_event
    from reward.spec import load_spec
    from tests.bedrock_emulator import Script, bedrock_emulator
    from tests.emf import emf_documents, validate_emf

    stack = reward.stack
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "reward")
    monkeypatch.setenv(metric_names.NAMESPACE_ENV, stack.metrics_namespace)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    capsys.readouterr()
    if stack.uses_judge:
        with bedrock_emulator(Script(judge="honest")):
            reply = grade_event(load_spec(stack.spec.path), support_event(4))
    else:
        reply = grade_event(load_spec(stack.spec.path), GSM8K_EVENT)
    assert len(reply) == 4
    documents = emf_documents(capsys.readouterr().out)
    assert documents
    validate_emf(documents)
    printed = set()
    for document in documents:
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == stack.metrics_namespace
        assert directive["Dimensions"] == [[metric_names.SERVICE_DIMENSION]]
        assert document[metric_names.SERVICE_DIMENSION] == metric_names.SERVICE
        printed |= {m["Name"] for m in directive["Metrics"]}
    charted = {
        line.name
        for widget in reward.widgets
        for line in metric_lines(widget)
        if line.namespace == stack.metrics_namespace
    }
    assert printed - charted == {metric_names.status_count("ok")}
    assert charted <= printed
    if stack.uses_judge:
        assert {metric_names.JUDGE_CALLS, metric_names.JUDGE_INPUT_TOKENS} <= printed


def test_with_a_judge_the_job_starter_may_read_quotas_and_nothing_more(judge: Reward) -> None:
    """The judge quota report needs servicequotas:ListServiceQuotas (Resource * by AWS's definition);
    the job resource tells the starter which model and demand to report."""
    roles = judge.app.resources("training", "AWS::IAM::Role").values()
    statements = [
        s
        for r in roles
        for p in r["Properties"].get("Policies", [])
        for s in p["PolicyDocument"]["Statement"]
    ]
    (quota,) = [s for s in statements if s.get("Sid") == "ReadJudgeQuota"]
    assert (quota["Action"], quota["Resource"]) == ("servicequotas:ListServiceQuotas", "*")
    assert not [s for s in statements if "servicequotas" in json.dumps(s["Action"]) and s is not quota]
    (job,) = [r["Properties"] for r in judge.app.resources("training", "Custom::NovaRftJob").values()]
    assert job["JudgeModelId"] == "us.amazon.nova-pro-v1:0" and job["JudgeCallsPerSample"] == "2"
    assert job["RewardReservedConcurrency"] == "100"
