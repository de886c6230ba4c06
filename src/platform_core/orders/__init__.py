"""Orders: drafting priced orders, checkout, payment outcomes and cancellation."""
