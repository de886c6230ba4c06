"""Payment gateways: Stripe (issue 5) and the signed fake used in mock mode and tests."""
