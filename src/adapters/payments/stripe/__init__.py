"""The Stripe payment adapter: checkout, verified webhooks, refunds and price sync over the SDK."""

from adapters.payments.stripe.gateway import StripePaymentGateway

__all__ = ["StripePaymentGateway"]
