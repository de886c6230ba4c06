"""Automation context: the legacy-system steps a delivered shipment sets off (provisioning,
replacements, returns), their retries, the Ops manual tasks when they fail, and the fallback."""
