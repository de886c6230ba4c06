"""Tracking-number formats and check digits, from the jkeen/tracking_number_data files in
``data/``: which formats a number matches, and whether it fits a courier we know formats of.

The data is written for Ruby/PCRE: named groups are ``(?<Name>...)`` and a regex may be an
array of fragments. Each format matches the whole input (blanks between digits are allowed, as
the data's ``\\s*`` says); its ``SerialNumber`` and ``CheckDigit`` groups, blanks removed, feed
the format's checksum algorithm (see ``_CHECKSUMS``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

import attrs

from platform_core.shared.errors import ValidationError

DATA_FILES = ("usps.json", "dhl.json", "canadapost.json", "s10.json")

# Longer input is refused before any regex runs: the longest valid test number with blanks
# between every digit is under 80 characters.
MAX_INPUT_LENGTH = 128

# Our courier code -> the data files' courier codes whose formats that courier issues.
# Postal services also issue UPU S10 numbers for international items.
COURIER_DATA: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "usps": ("usps", "s10"),
        "canada_post": ("canada_post", "s10"),
        "dhl": ("dhl",),
    }
)

_NAMED_GROUP = re.compile(r"\(\?<(?=[A-Za-z_])")
_BLANKS = re.compile(r"\s+")

Checksum = Callable[[str, str, Mapping[str, Any]], bool]


@attrs.frozen
class Format:
    """One tracking-number format: the data's courier code (``usps``, ``s10``...), its id
    (``usps_impb_n``) and its human name."""

    courier: str
    format_id: str
    name: str


@attrs.frozen
class _Lookup:
    """A table in a format's ``additional`` list: values a regex group may take."""

    group: str
    exact: frozenset[str]
    patterns: tuple[re.Pattern[str], ...]

    def contains(self, value: str) -> bool:
        return value in self.exact or any(p.fullmatch(value) for p in self.patterns)


@attrs.frozen
class FormatRule:
    """A format compiled for Python: its pattern, checksum and lookups."""

    format: Format
    pattern: re.Pattern[str]
    checksum: Checksum | None
    checksum_spec: Mapping[str, Any]
    prepend_if: tuple[re.Pattern[str], str] | None
    must_exist: tuple[_Lookup, ...]

    def accepts(self, number: str) -> bool:
        match = self.pattern.fullmatch(number)
        if match is None:
            return False
        groups = {name: _compact(value or "") for name, value in match.groupdict().items()}
        if any(not lookup.contains(groups.get(lookup.group, "")) for lookup in self.must_exist):
            return False
        if self.checksum is None:
            return True
        serial = groups.get("SerialNumber", "")
        if self.prepend_if is not None and self.prepend_if[0].search(serial):
            serial = self.prepend_if[1] + serial
        return self.checksum(serial, groups.get("CheckDigit", ""), self.checksum_spec)


def _compact(value: str) -> str:
    return _BLANKS.sub("", value)


def _digits(value: str) -> list[int] | None:
    return [int(char) for char in value] if value.isascii() and value.isdigit() else None


def _mod10(serial: str, check_digit: str, spec: Mapping[str, Any]) -> bool:
    digits = _digits(serial)
    if digits is None or not check_digit.isdigit():
        return False
    if spec.get("reverse"):
        # Weighted from the right (IMpb): the digit next to the check digit gets the
        # evens multiplier, whatever the serial's length.
        digits = digits[::-1]
    evens = int(spec.get("evens_multiplier", 1))
    odds = int(spec.get("odds_multiplier", 1))
    # Every test number in the data agrees with this reading: indexes 0, 2, 4... (counted
    # from 0) take the evens multiplier.
    total = sum(d * (odds if i % 2 else evens) for i, d in enumerate(digits))
    modulo = int(spec.get("modulo", 10))
    remainder = total % modulo
    return (0 if remainder == 0 else modulo - remainder) == int(check_digit)


def _mod7(serial: str, check_digit: str, spec: Mapping[str, Any]) -> bool:
    if _digits(serial) is None or not check_digit.isdigit():
        return False
    return int(serial) % int(spec.get("modulo", 7)) == int(check_digit)


def _s10(serial: str, check_digit: str, spec: Mapping[str, Any]) -> bool:
    digits = _digits(serial)
    weights = [int(w) for w in spec.get("weightings", ())]
    if digits is None or len(digits) != len(weights) or not check_digit.isdigit():
        return False
    modulo = int(spec.get("modulo", 11))
    expected = modulo - sum(d * w for d, w in zip(digits, weights, strict=True)) % modulo
    # UPU S10: a computed 10 is written 0 and 11 is written 5.
    expected = {10: 0, 11: 5}.get(expected, expected)
    return expected == int(check_digit)


def _luhn(serial: str, check_digit: str, spec: Mapping[str, Any]) -> bool:
    digits = _digits(serial + check_digit)
    if digits is None:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        doubled = d * 2 if i % 2 else d
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


def _sum_product(serial: str, check_digit: str, spec: Mapping[str, Any]) -> bool:
    digits = _digits(serial)
    weights = [int(w) for w in spec.get("weightings", ())]
    if digits is None or len(digits) != len(weights) or not check_digit.isdigit():
        return False
    total = sum(d * w for d, w in zip(digits, weights, strict=True))
    return total % int(spec["modulo1"]) % int(spec["modulo2"]) == int(check_digit)


_CHECKSUMS: Mapping[str, Checksum] = MappingProxyType(
    {
        "mod10": _mod10,
        "mod7": _mod7,
        "s10": _s10,
        "luhn": _luhn,
        "sum_product_with_weightings_and_modulo": _sum_product,
    }
)


def _python_regex(source: str | Sequence[str]) -> re.Pattern[str]:
    text = source if isinstance(source, str) else "".join(source)
    return re.compile(_NAMED_GROUP.sub("(?P<", text))


def _lookups(data: Mapping[str, Any]) -> tuple[_Lookup, ...]:
    wanted = set(data.get("validation", {}).get("additional", {}).get("exists", ()))
    lookups = []
    for table in data.get("additional", ()):
        if table["name"] not in wanted:
            continue
        entries = table.get("lookup", ())
        exact = frozenset(e["matches"] for e in entries if "matches" in e)
        patterns = tuple(re.compile(e["matches_regex"]) for e in entries if "matches_regex" in e)
        lookups.append(_Lookup(table["regex_group_name"], exact, patterns))
    if len(lookups) != len(wanted):
        raise ValueError(f"{data['id']}: 'exists' names a table the data does not have")
    return tuple(lookups)


def _rule(courier: str, data: Mapping[str, Any]) -> FormatRule:
    validation = data.get("validation", {})
    spec = validation.get("checksum") or {}
    checksum = None
    if spec:
        if spec["name"] not in _CHECKSUMS:
            # Failing at load time beats silently accepting every number of a new format.
            raise ValueError(f"{data['id']}: unknown checksum algorithm {spec['name']!r}")
        checksum = _CHECKSUMS[spec["name"]]
    prepend = validation.get("serial_number_format", {}).get("prepend_if")
    return FormatRule(
        format=Format(courier, data["id"], data["name"]),
        pattern=_python_regex(data["regex"]),
        checksum=checksum,
        checksum_spec=MappingProxyType(dict(spec)),
        prepend_if=(re.compile(prepend["matches_regex"]), prepend["content"]) if prepend else None,
        must_exist=_lookups(data),
    )


def load_rules(documents: Iterable[Mapping[str, Any]]) -> tuple[FormatRule, ...]:
    """Compile the formats of parsed data files (one per courier)."""
    return tuple(
        _rule(document["courier_code"], entry)
        for document in documents
        for entry in document["tracking_numbers"]
    )


def read_data_file(name: str) -> dict[str, Any]:
    """One of the packaged data files, parsed."""
    text = resources.files(__package__).joinpath("data", name).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


@cache
def _packaged_rules() -> tuple[FormatRule, ...]:
    return load_rules(read_data_file(name) for name in DATA_FILES)


def _candidate(number: str) -> str | None:
    if not isinstance(number, str) or len(number) > MAX_INPUT_LENGTH:
        return None
    # The data's patterns are upper-case (S10 country codes, DHL prefixes).
    return number.strip().upper()


def _matching(rules: Iterable[FormatRule], number: str) -> list[Format]:
    candidate = _candidate(number)
    if not candidate:
        return []
    return [rule.format for rule in rules if rule.accepts(candidate)]


def identify(number: str) -> list[Format]:
    """Every packaged format `number` matches, check digit included, in data-file order."""
    return _matching(_packaged_rules(), number)


class TrackingNumberRules:
    """Which tracking numbers each courier issues. Couriers without format data (Chit Chats,
    the simulator) have no rules: every number is accepted for them."""

    def __init__(
        self,
        rules: Iterable[FormatRule] | None = None,
        courier_data: Mapping[str, Sequence[str]] = COURIER_DATA,
    ) -> None:
        all_rules = tuple(rules) if rules is not None else _packaged_rules()
        self._by_courier = {
            code: tuple(rule for rule in all_rules if rule.format.courier in data_codes)
            for code, data_codes in courier_data.items()
        }

    def has_rules(self, courier_code: str) -> bool:
        return bool(self._by_courier.get(courier_code))

    def formats(self, courier_code: str) -> list[Format]:
        return [rule.format for rule in self._by_courier.get(courier_code, ())]

    def matching(self, courier_code: str, number: str) -> list[Format]:
        """The formats of `courier_code` that `number` matches."""
        return _matching(self._by_courier.get(courier_code, ()), number)

    def check(self, courier_code: str, number: str) -> None:
        """Raise ValidationError when `number` fits none of the courier's formats."""
        if not self.has_rules(courier_code) or self.matching(courier_code, number):
            return
        expected = [rule.format.format_id for rule in self._by_courier[courier_code]]
        raise ValidationError(
            f"{number!r:.80} is not a {courier_code} tracking number: it matches none of "
            f"{', '.join(expected)} (format and check digit)",
            {
                "field": "tracking_number",
                "courier_code": courier_code,
                "expected_formats": expected,
            },
        )
