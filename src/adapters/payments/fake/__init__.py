"""Mock-mode payment gateway: deterministic sessions and webhooks signed exactly as Stripe's."""

from adapters.payments.fake.gateway import FakePaymentGateway, sign_stripe_payload

__all__ = ["FakePaymentGateway", "sign_stripe_payload"]
