"""Country and region codes: ISO 3166-1 alpha-2 countries and the pricing regions built on them."""

from __future__ import annotations

import re

from platform_core.shared.errors import ValidationError

# ISO 3166-1 alpha-2, as published in the tz database's iso3166.tab. Kept as data so that a new
# country is one entry in this set.
COUNTRY_CODES: frozenset[str] = frozenset({
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
})  # fmt: skip

# ISO 3166-2 subdivision suffix: one to three letters or digits ("ON" in "CA-ON", "06" in "FR-06").
_SUBDIVISION = re.compile(r"[A-Z0-9]{1,3}")


def validate_country(value: object, field: str = "country") -> str:
    """Return `value` as an upper-case ISO 3166-1 alpha-2 code, or raise ValidationError."""
    code = value.strip().upper() if isinstance(value, str) else ""
    if code not in COUNTRY_CODES:
        raise ValidationError(
            f"{field} must be an ISO 3166-1 alpha-2 country code, got {value!r}",
            {"field": field, "value": repr(value)},
        )
    return code


def validate_region(value: object, field: str = "region") -> str:
    """Return a pricing region in canonical form: a country ("US") or a subdivision ("CA-ON")."""
    text = value.strip().upper() if isinstance(value, str) else ""
    country, _, subdivision = text.partition("-")
    if country not in COUNTRY_CODES or (
        text != country and not _SUBDIVISION.fullmatch(subdivision)
    ):
        raise ValidationError(
            f"{field} must be a country code or an ISO 3166-2 subdivision such as 'CA-ON', "
            f"got {value!r}",
            {"field": field, "value": repr(value)},
        )
    return text


def region_country(region: str) -> str:
    """The country part of a region code ("CA" for "CA-ON", "US" for "US")."""
    return region.partition("-")[0]
