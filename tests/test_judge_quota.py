"""The job starter's judge quota report: ListServiceQuotas through a Stubber (requests validated against
botocore's service-quotas model), found by name, reported beside the expected demand, never a failure."""

from __future__ import annotations

import boto3
from botocore.stub import Stubber

from job_starter.judge_quota import judge_quota, quota_name_patterns

SESSION = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")


def quota(name: str, value: float, code: str) -> dict:
    return {
        "ServiceCode": "bedrock",
        "ServiceName": "Amazon Bedrock",
        "QuotaArn": f"arn:aws:servicequotas:us-east-1:123456789012:bedrock/{code}",
        "QuotaCode": code,
        "QuotaName": name,
        "Value": value,
        "Unit": "None",
        "Adjustable": True,
        "GlobalQuota": False,
    }


def stubbed(*pages: list[dict]):
    client = SESSION.client("service-quotas")
    stubber = Stubber(client)
    for i, quotas in enumerate(pages):
        response: dict = {"Quotas": quotas}
        params: dict = {"ServiceCode": "bedrock"}
        if i + 1 < len(pages):
            response["NextToken"] = f"page-{i + 1}"
        if i:
            params["NextToken"] = f"page-{i}"
        stubber.add_response("list_service_quotas", response, params)
    stubber.activate()
    return client, stubber


def test_the_cross_region_quota_of_the_judge_profile_is_found_by_name_across_pages() -> None:
    client, stubber = stubbed(
        [quota("On-demand InvokeModel requests per minute for Amazon Nova Pro", 250, "L-AAAA1111")],
        [
            quota("Cross-Region InvokeModel requests per minute for Amazon Nova Pro", 500, "L-BBBB2222"),
            quota("Cross-Region InvokeModel tokens per minute for Amazon Nova Pro", 2_000_000, "L-CCCC3333"),
            quota("Cross-Region InvokeModel requests per minute for Amazon Nova Lite", 9_999, "L-DDDD4444"),
        ],
    )
    found = judge_quota(
        client, model_id="us.amazon.nova-pro-v1:0", reserved_concurrency=100, calls_per_sample=2
    )
    stubber.assert_no_pending_responses()
    assert (found.requests_per_minute, found.tokens_per_minute) == (500, 2_000_000)
    assert found.demand_requests_per_minute == 100 * 2 * 60
    line = found.line()
    assert "500 requests/min" in line and "12,000 requests/min" in line and "WARNING" in line


def test_an_on_demand_model_id_reads_the_on_demand_quota_and_a_demand_that_fits_is_no_warning() -> None:
    client, _ = stubbed([quota("On-demand InvokeModel requests per minute for Amazon Nova Pro", 250, "L-A1")])
    found = judge_quota(client, model_id="amazon.nova-pro-v1:0", reserved_concurrency=2, calls_per_sample=2)
    assert found.requests_per_minute == 250 and "WARNING" not in found.line()


def test_no_quota_found_or_no_access_is_a_report_not_a_failure() -> None:
    client, _ = stubbed([quota("Cross-Region InvokeModel tokens per minute for Amazon Nova Pro", 1e6, "L-C")])
    tokens_only = judge_quota(
        client, model_id="us.amazon.nova-pro-v1:0", reserved_concurrency=1, calls_per_sample=1
    )
    assert tokens_only.requests_per_minute is None and "1,000,000 tokens/min" in tokens_only.line()

    denied = SESSION.client("service-quotas")
    stubber = Stubber(denied)
    stubber.add_client_error("list_service_quotas", "AccessDeniedException", "no", 400)
    stubber.activate()
    report = judge_quota(
        denied, model_id="us.amazon.nova-pro-v1:0", reserved_concurrency=1, calls_per_sample=1
    )
    assert "could not be read (AccessDeniedException)" in report.line()

    unknown = judge_quota(denied, model_id="anthropic.claude-x", reserved_concurrency=1, calls_per_sample=1)
    assert "No quota name known" in unknown.line()


def test_name_patterns_tell_on_demand_from_cross_region() -> None:
    requests, _ = quota_name_patterns("global.amazon.nova-2-lite-v1:0")
    assert requests.match("Cross-Region InvokeModel requests per minute for Amazon Nova 2 Lite")
    assert not requests.match("On-demand InvokeModel requests per minute for Amazon Nova 2 Lite")
    on_demand, _ = quota_name_patterns("amazon.nova-lite-v1:0")
    assert on_demand.match("On-demand model inference requests per minute for Amazon Nova Lite")
    assert quota_name_patterns("meta.llama3-70b-instruct-v1:0") is None
