"""The small pieces under `rft baseline` / `rft eval`: which model id is called, what the estimate says,
when the progress bar is drawn."""

from __future__ import annotations

import io

import pytest

from rft import prices
from rft.sampling import InferenceSettings, SampleRequest, estimate
from rft.ui import progress_bar
from stacks.models import foundation_of, inference_model_id, is_deployment_arn
from tests.policy_runs import BASE_ID, DEPLOYMENT_ARN


@pytest.mark.parametrize(
    ("base", "region", "expected"),
    [
        ("amazon.nova-2-lite-v1:0:256k", "us-east-1", "us.amazon.nova-2-lite-v1:0"),
        ("amazon.nova-2-lite-v1:0:256k", "us-west-2", "us.amazon.nova-2-lite-v1:0"),
        ("amazon.nova-2-lite-v1:0:256k", "eu-west-1", "eu.amazon.nova-2-lite-v1:0"),
        ("amazon.nova-2-lite-v1:0:256k", "sa-east-1", "global.amazon.nova-2-lite-v1:0"),
        (
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-2-lite-v1:0:256k",
            "us-east-1",
            "us.amazon.nova-2-lite-v1:0",
        ),
        ("global.amazon.nova-2-lite-v1:0", "us-east-1", "global.amazon.nova-2-lite-v1:0"),
        (DEPLOYMENT_ARN, "us-east-1", DEPLOYMENT_ARN),
    ],
)
def test_the_training_id_maps_to_an_inference_id(base, region, expected):
    assert inference_model_id(base, region) == expected


def test_foundation_and_deployment_helpers():
    assert foundation_of(BASE_ID) == "amazon.nova-2-lite-v1:0"
    assert foundation_of("amazon.nova-2-lite-v1:0:256k") == "amazon.nova-2-lite-v1:0"
    assert is_deployment_arn(DEPLOYMENT_ARN) and not is_deployment_arn(BASE_ID)


def request(chars: int, effort: str = "none", max_tokens: int = 1000) -> SampleRequest:
    settings = InferenceSettings(max_tokens, effort)
    return SampleRequest("k", BASE_ID, 0, 0, ("",), (("user", "x" * chars),), settings)


def test_the_estimate_prices_tokens_from_the_dated_table():
    settings = InferenceSettings(1000, "none")
    est = estimate(BASE_ID, [request(4000)] * 10, 5, settings)
    assert est.calls == 10 and est.cached == 5
    assert est.input_tokens == 10_000  # 4,000 characters at 4 per token, 10 calls
    assert est.output_tokens == 10 * prices.ASSUMED_OUTPUT_TOKENS["none"]
    price_in, price_out = prices.PRICE_PER_MTOK["amazon.nova-2-lite-v1:0"]
    assert est.usd == pytest.approx((10_000 * price_in + 4_000 * price_out) / 1e6)
    assert est.usd_max == pytest.approx((10_000 * price_in + 10_000 * price_out) / 1e6)
    assert prices.PRICES_AS_OF in est.line()


def test_a_deployment_is_priced_like_its_base_model_and_an_unknown_model_says_so():
    settings = InferenceSettings(1000, "none")
    assert estimate(DEPLOYMENT_ARN, [request(40)], 0, settings, price_fallback=BASE_ID).usd is not None
    unknown = estimate("us.example.unknown-v1:0", [request(40)], 0, settings)
    assert unknown.usd is None and "price unknown" in unknown.line()


def test_the_estimate_learns_output_length_from_cached_responses():
    from rft.sampling import SampleResponse

    settings = InferenceSettings(1000, "high")
    known = [SampleResponse("a", "x", output_tokens=100), SampleResponse("b", "y", output_tokens=300)]
    assert estimate(BASE_ID, [request(4)] * 3, 2, settings, known=known).output_tokens == 600


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_is_drawn_only_on_a_terminal_and_not_with_json():
    for stream, enabled, drawn in ((Tty(), True, True), (Tty(), False, False), (io.StringIO(), True, False)):
        bar = progress_bar(3, "sampling", err=stream, enabled=enabled)
        assert bar.disable is (not drawn)  # tqdm draws only an enabled bar (after its 1 s delay)
        bar.update(3)
        bar.close()
        if not drawn:
            assert "sampling" not in stream.getvalue()
