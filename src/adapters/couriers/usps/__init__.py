"""USPS Tracking v3: event-code mapping, pure parser (polling answers and subscription
notifications) and the OAuth httpx client."""
