"""The composition root picks the payment gateway from the settings: Stripe or mock mode."""

from __future__ import annotations

import pytest

from adapters.payments.fake import FakePaymentGateway
from adapters.payments.stripe import StripePaymentGateway
from entrypoints.bootstrap import MEMORY_URL, Settings, bootstrap
from platform_core.shared.errors import ValidationError

STRIPE = {
    "PLATFORM_DATABASE_URL": MEMORY_URL,
    "STRIPE_API_KEY": "sk_test_bootstrap",
    "STRIPE_WEBHOOK_SECRET": "whsec_bootstrap",
}


async def test_a_stripe_key_builds_the_stripe_adapter() -> None:
    """With a secret key set, payments go to Stripe and the mock cannot be driven."""
    platform = bootstrap(Settings.from_env(STRIPE))
    try:
        assert isinstance(platform.deps.payments, StripePaymentGateway)
        with pytest.raises(ValidationError, match="Stripe"):
            _ = platform.deps.mock_payments
    finally:
        await platform.close()


async def test_no_key_is_mock_mode() -> None:
    """Without a key the mock gateway is used, and reachable as itself for the demo and tests."""
    platform = bootstrap(Settings(database_url=MEMORY_URL))
    try:
        assert isinstance(platform.deps.payments, FakePaymentGateway)
        assert platform.deps.mock_payments is platform.deps.payments
    finally:
        await platform.close()


def test_checkout_urls_default_to_the_public_base_url() -> None:
    """Success and cancel URLs follow PLATFORM_PUBLIC_BASE_URL unless set on their own."""
    derived = Settings.from_env({"PLATFORM_PUBLIC_BASE_URL": "https://shop.example/"})
    assert derived.success_url == (
        "https://shop.example/checkout/success?session_id={CHECKOUT_SESSION_ID}"
    )
    assert derived.cancel_url == "https://shop.example/checkout/cancel"
    own = Settings.from_env(
        {
            "PLATFORM_CHECKOUT_SUCCESS_URL": "https://a.example/paid",
            "PLATFORM_CHECKOUT_CANCEL_URL": "https://a.example/back",
        }
    )
    assert (own.success_url, own.cancel_url) == ("https://a.example/paid", "https://a.example/back")


@pytest.mark.parametrize(
    ("env", "field"),
    [
        # A real key with the mock webhook secret would refuse every genuine Stripe event.
        ({"STRIPE_API_KEY": "sk_test_bootstrap"}, "stripe_webhook_secret"),
        ({**STRIPE, "STRIPE_WEBHOOK_SECRET": ""}, "webhook_secret"),
        ({**STRIPE, "PLATFORM_CHECKOUT_SUCCESS_URL": "shop.example/paid"}, "checkout_success_url"),
        ({**STRIPE, "PLATFORM_CHECKOUT_CANCEL_URL": "ftp://x"}, "checkout_cancel_url"),
    ],
)
def test_bad_payment_settings_are_refused(env: dict[str, str], field: str) -> None:
    """Settings Stripe could not work with stop the start, naming the setting."""
    with pytest.raises(ValidationError) as refused:
        bootstrap(Settings.from_env({"PLATFORM_DATABASE_URL": MEMORY_URL, **env}))
    assert refused.value.details["field"] == field
