"""A local fake of the Stripe API for the adapter's contract tests.

It answers the endpoints the Stripe adapter calls (checkout sessions, refunds, products,
prices) with objects shaped like the recorded fixtures in tests/fixtures/stripe (a copy of
../shared/fixtures/stripe kept in the repository), honours `Idempotency-Key` as Stripe does,
checks the bearer key, keeps a log of what it received and can be told to fail the next
requests (500, 429 or a dropped connection). It is a bare ASGI app served by uvicorn on
127.0.0.1 in a background thread, so the real SDK talks real HTTP to it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import attrs
import uvicorn

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "stripe" / "openapi_fixtures3"
API_KEY = "sk_test_fake_stripe_key"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class Fault(StrEnum):
    """How the server fails a request it was told to fail."""

    SERVER_ERROR = "500"
    RATE_LIMITED = "429"
    DROP = "drop"


@attrs.frozen
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, Any]


class StripeApiError(Exception):
    """An error answer in Stripe's shape: {"error": {"type", "message", "code", "param"}}."""

    def __init__(
        self,
        status: int,
        kind: str,
        message: str,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {
            "error": {"type": kind, "message": message, "code": code, "param": param}
        }


def _fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return loaded


def _nested(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding back into objects: `a[b][0][c]=v` -> {"a": {"b": [{"c": "v"}]}}."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        path = re.findall(r"[^\[\]]+", key)
        node = root
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value

    def listify(value: Any) -> Any:
        if isinstance(value, dict):
            items = {k: listify(v) for k, v in value.items()}
            if items and all(k.isdigit() for k in items):
                return [items[k] for k in sorted(items, key=int)]
            return items
        return value

    result: dict[str, Any] = listify(root)
    return result


def _digest(*parts: str) -> str:
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:24]


def _integer(params: dict[str, Any], name: str) -> int:
    raw = params.get(name)
    if not isinstance(raw, str) or not raw.lstrip("-").isdigit():
        raise StripeApiError(400, "invalid_request_error", f"Invalid integer: {raw}", param=name)
    return int(raw)


class FakeStripe:
    """The state and the ASGI app of the fake Stripe API."""

    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.requests: list[ReceivedRequest] = []
        self.sessions: dict[str, dict[str, Any]] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.prices: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        # Stripe returns line items only on request (expand); the fake keeps them for assertions.
        self.session_lines: dict[str, list[dict[str, Any]]] = {}
        # payment intent id -> [amount paid, amount refunded so far, currency]
        self.payments: dict[str, list[Any]] = {}
        self._idempotent: dict[str, tuple[str, dict[str, Any], int, dict[str, Any]]] = {}
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._count = 0

    # -- test controls ------------------------------------------------------------------------
    def fail_next(self, count: int, fault: Fault) -> None:
        """The next `count` requests fail with `fault` (before any state changes)."""
        with self._lock:
            self._faults.extend([fault] * count)

    def pay(self, session_id: str) -> str:
        """A customer paid the session; returns the payment intent that can now be refunded."""
        with self._lock:
            session = self.sessions[session_id]
            intent = f"pi_{_digest(session_id)}"
            session.update(status="complete", payment_status="paid", payment_intent=intent)
            self.payments[intent] = [session["amount_total"], 0, session["currency"]]
            return intent

    def received(self, path: str) -> list[ReceivedRequest]:
        return [request for request in self.requests if request.path == path]

    # -- ASGI -----------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # served with lifespan="off"; nothing else arrives
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        params, fault = self._record(scope["method"], scope["path"], headers, body)
        if fault is Fault.DROP:
            # Promise a body, then break off: the client sees the connection die mid-response.
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", b"64")],
                }
            )
            raise ConnectionAbortedError("fake Stripe dropped the connection on purpose")
        if fault is not None:
            status, error = (
                (500, StripeApiError(500, "api_error", "An unknown error occurred"))
                if fault is Fault.SERVER_ERROR
                else (
                    429,
                    StripeApiError(429, "invalid_request_error", "Too many requests", "rate_limit"),
                )
            )
            await self._answer(send, status, error.body)
            return
        status, payload = self._handle(scope["method"], scope["path"], headers, params)
        await self._answer(send, status, payload)

    async def _answer(self, send: Send, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"request-id", f"req_fake_{self._count}".encode()),
                    # Stripe tells clients not to retry answers that are final.
                    (b"stripe-should-retry", b"true" if status >= 500 else b"false"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})

    def _record(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[dict[str, Any], Fault | None]:
        params = _nested(parse_qsl(body.decode(), keep_blank_values=True))
        with self._lock:
            self._count += 1
            self.requests.append(ReceivedRequest(method, path, headers, params))
            return params, self._faults.pop(0) if self._faults else None

    def _handle(
        self, method: str, path: str, headers: dict[str, str], params: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        if headers.get("authorization") != f"Bearer {self.api_key}":
            given = headers.get("authorization", "").removeprefix("Bearer ")
            masked = f"{given[:8]}****{given[-4:]}" if given else "(none)"
            error = StripeApiError(
                401, "invalid_request_error", f"Invalid API Key provided: {masked}"
            )
            return 401, error.body
        routes = {
            "/v1/checkout/sessions": self._create_session,
            "/v1/refunds": self._create_refund,
            "/v1/products": self._create_product,
            "/v1/prices": self._create_price,
        }
        handler = routes.get(path) if method == "POST" else None
        if handler is None:
            missing = StripeApiError(
                404, "invalid_request_error", f"Unrecognized request URL ({method}: {path})"
            )
            return 404, missing.body
        key = headers.get("idempotency-key")
        with self._lock:
            if key is not None and key in self._idempotent:
                first_path, first_params, status, payload = self._idempotent[key]
                if (first_path, first_params) != (path, params):
                    error = StripeApiError(
                        400,
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same parameters "
                        f"they were first used with. Try using a key other than '{key}' if you "
                        "meant to execute a different request.",
                    )
                    return 400, error.body
                return status, copy.deepcopy(payload)
            try:
                status, payload = 200, handler(params)
            except StripeApiError as error:
                status, payload = error.status, error.body
            if key is not None:
                self._idempotent[key] = (path, params, status, copy.deepcopy(payload))
            return status, payload

    # -- endpoints (called with the lock held) -----------------------------------------------
    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{_digest(prefix, str(self._count), str(len(self.requests)))}"

    def _create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        for field in ("success_url", "cancel_url", "mode"):
            if not params.get(field):
                raise StripeApiError(
                    400,
                    "invalid_request_error",
                    f"Missing required param: {field}.",
                    "parameter_missing",
                    field,
                )
        lines = params.get("line_items") or []
        if not isinstance(lines, list) or not lines:
            raise StripeApiError(
                400,
                "invalid_request_error",
                "Missing required param: line_items.",
                "parameter_missing",
                "line_items",
            )
        total, currency = 0, None
        for index, line in enumerate(lines):
            price = self.prices.get(line.get("price", ""))
            if price is None:
                raise StripeApiError(
                    400,
                    "invalid_request_error",
                    f"No such price: '{line.get('price')}'",
                    "resource_missing",
                    f"line_items[{index}][price]",
                )
            total += price["unit_amount"] * _integer(line, "quantity")
            currency = price["currency"]
        session = _fixture("checkout_session")
        session_id = self._new_id("cs_test")
        now = int(time.time())
        session.update(
            id=session_id,
            url=f"https://checkout.stripe.com/c/pay/{session_id}",
            mode=params["mode"],
            status="open",
            payment_status="unpaid",
            payment_intent=None,
            client_reference_id=params.get("client_reference_id"),
            metadata=params.get("metadata", {}),
            customer_email=params.get("customer_email"),
            success_url=params["success_url"],
            cancel_url=params["cancel_url"],
            created=now,
            expires_at=_integer(params, "expires_at") if "expires_at" in params else now + 86400,
            amount_subtotal=total,
            amount_total=total,
            currency=currency,
        )
        self.sessions[session_id] = session
        self.session_lines[session_id] = lines
        return session

    def _create_refund(self, params: dict[str, Any]) -> dict[str, Any]:
        intent = params.get("payment_intent", "")
        payment = self.payments.get(intent)
        if payment is None:
            raise StripeApiError(
                400,
                "invalid_request_error",
                f"No such payment_intent: '{intent}'",
                "resource_missing",
                "payment_intent",
            )
        paid, refunded, currency = payment
        amount = _integer(params, "amount") if "amount" in params else paid - refunded
        if amount <= 0 or refunded + amount > paid:
            raise StripeApiError(
                400,
                "invalid_request_error",
                f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                f"({paid - refunded})",
                "amount_too_large",
                "amount",
            )
        payment[1] = refunded + amount
        refund = _fixture("refund")
        refund.update(
            id=self._new_id("re"),
            amount=amount,
            currency=currency,
            payment_intent=intent,
            charge=f"ch_{_digest(intent)}",
            status="succeeded",
            created=int(time.time()),
            metadata=params.get("metadata", {}),
        )
        self.refunds[refund["id"]] = refund
        return refund

    def _create_product(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("name"):
            raise StripeApiError(
                400,
                "invalid_request_error",
                "Missing required param: name.",
                "parameter_missing",
                "name",
            )
        product_id = params.get("id") or self._new_id("prod")
        if product_id in self.products:
            raise StripeApiError(
                400,
                "invalid_request_error",
                "Product already exists.",
                "resource_already_exists",
                "id",
            )
        product = _fixture("product")
        product.update(
            id=product_id,
            name=params["name"],
            default_price=None,
            description=None,
            metadata=params.get("metadata", {}),
            created=int(time.time()),
        )
        self.products[product_id] = product
        return product

    def _create_price(self, params: dict[str, Any]) -> dict[str, Any]:
        product = params.get("product", "")
        if product not in self.products:
            raise StripeApiError(
                400,
                "invalid_request_error",
                f"No such product: '{product}'",
                "resource_missing",
                "product",
            )
        unit_amount = _integer(params, "unit_amount")
        if unit_amount < 0:
            raise StripeApiError(
                400,
                "invalid_request_error",
                "Invalid unit_amount: must be at least 0",
                "parameter_invalid_integer",
                "unit_amount",
            )
        price = _fixture("price")
        price.update(
            id=self._new_id("price"),
            product=product,
            unit_amount=unit_amount,
            unit_amount_decimal=str(unit_amount),
            currency=params.get("currency"),
            recurring=None,
            type="one_time",
            transform_quantity=None,
            custom_unit_amount=None,
            metadata=params.get("metadata", {}),
            created=int(time.time()),
        )
        self.prices[price["id"]] = price
        return price


@attrs.frozen
class RunningFakeStripe:
    """The fake server, listening; point the SDK at `url`."""

    stripe: FakeStripe
    url: str


@contextmanager
def running_fake_stripe(api_key: str = API_KEY) -> Iterator[RunningFakeStripe]:
    """Serve a fresh FakeStripe on 127.0.0.1 (a free port) until the block ends."""
    fake = FakeStripe(api_key)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(fake, log_level="critical", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    # Wait on uvicorn's own readiness flag (not on a delay): it is set once the socket accepts.
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the fake Stripe server did not start")
        time.sleep(0.01)
    try:
        yield RunningFakeStripe(fake, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
