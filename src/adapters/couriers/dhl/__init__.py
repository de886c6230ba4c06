"""DHL: Express (MyDHL JSON and XML-PI) and Unified Shipment Tracking; code mappings, pure
parsers, and one httpx client per API, chosen by the courier's ``api`` metadata."""
