"""An in-process legacy system for the embedded default, the demo and tests."""

from adapters.legacy.fake.bridge import BridgeCall, FakeLegacyBridge

__all__ = ["BridgeCall", "FakeLegacyBridge"]
