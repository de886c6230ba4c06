"""Tracking-number validation from the jkeen/tracking_number_data files: every test number
of the data, the sample numbers of the courier fixtures, and the courier rules."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.couriers.tracking_numbers import COURIER_DATA, TrackingNumberRules, identify
from adapters.couriers.tracking_numbers.validator import DATA_FILES, load_rules, read_data_file
from platform_core.shared.errors import ValidationError

FIXTURES = Path(__file__).parents[2] / "fixtures" / "couriers"


def _test_numbers(kind: str) -> list[Any]:
    cases = []
    for name in DATA_FILES:
        document = json.loads((FIXTURES / "tracking_numbers" / name).read_text())
        for entry in document["tracking_numbers"]:
            cases += [
                pytest.param(name, entry["id"], number, id=f"{entry['id']}-{number}")
                for number in entry["test_numbers"][kind]
            ]
    return cases


def _rule(file_name: str, format_id: str) -> Any:
    rules = load_rules([read_data_file(file_name)])
    return next(rule for rule in rules if rule.format.format_id == format_id)


@pytest.mark.parametrize(("file_name", "format_id", "number"), _test_numbers("valid"))
def test_every_valid_test_number_is_accepted_by_its_format(
    file_name: str, format_id: str, number: str
) -> None:
    """Each `test_numbers.valid` entry matches its format, check digit included."""
    assert _rule(file_name, format_id).accepts(number.strip().upper())
    assert format_id in [found.format_id for found in identify(number)]


@pytest.mark.parametrize(("file_name", "format_id", "number"), _test_numbers("invalid"))
def test_every_invalid_test_number_is_refused_by_its_format(
    file_name: str, format_id: str, number: str
) -> None:
    """Each `test_numbers.invalid` entry is refused by the format that lists it."""
    assert not _rule(file_name, format_id).accepts(number.strip().upper())
    assert format_id not in [found.format_id for found in identify(number)]


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("9400109104250532908587", ["usps_impb_n"]),
        ("9405536895357112578988", ["usps_impb_n"]),
        ("7023210039414604", ["canada_post"]),
        ("3180831640", ["dhl_express"]),
        ("7740842550", ["dhl_express"]),
        ("1815115363", ["dhl_express"]),
        ("9053283201", ["dhl_express"]),
        ("9356579890", ["dhl_express"]),
        ("8346088391", ["dhl_express"]),
        ("7777777770", ["dhl_express"]),
        ("89108749065090", ["dhl_ecommerce_14"]),
        ("00340434292135100124", ["usps_20"]),
        ("1234567890", []),
        ("RB123456785CA", ["s10"]),
    ],
)
def test_fixture_sample_numbers_classify_as_the_fixture_readme_says(
    number: str, expected: list[str]
) -> None:
    """The courier fixtures' numbers get the formats the fixtures' README lists."""
    assert [found.format_id for found in identify(number)] == expected


def test_identify_names_the_courier_and_the_format() -> None:
    """A match says which data file's courier issued it and the format's human name."""
    (found,) = identify("7023210039414604")
    assert (found.courier, found.format_id, found.name) == (
        "canada_post",
        "canada_post",
        "Canada Post (16)",
    )


def test_blanks_between_digits_and_lower_case_are_accepted() -> None:
    """The data's patterns allow blanks between digits; S10 letters compare upper-case."""
    assert [f.format_id for f in identify(" 7023 2100 3941 4604 ")] == ["canada_post"]
    assert [f.format_id for f in identify("rb123456785gb")] == ["s10"]


def test_s10_country_code_must_be_in_the_courier_table() -> None:
    """S10's `additional.exists` makes the country code a real postal service's."""
    assert identify("RB123456785GB")
    assert not identify("RB123456785XX")


RULES = TrackingNumberRules()


@pytest.mark.parametrize(
    ("courier_code", "number"),
    [
        ("usps", "9400109104250532908587"),
        ("usps", "RB123456785US"),
        ("canada_post", "7023210039414604"),
        ("canada_post", "RB123456785CA"),
        ("dhl", "3180831640"),
        ("dhl", "JJD0099999999"),
        ("dhl", "GM2951173225174494"),
    ],
)
def test_check_accepts_numbers_of_the_couriers_formats(courier_code: str, number: str) -> None:
    """USPS and Canada Post accept their own formats and S10; DHL its dhl_* formats."""
    RULES.check(courier_code, number)


@pytest.mark.parametrize(
    ("courier_code", "number"),
    [
        ("canada_post", "7023210039414605"),  # wrong check digit
        ("canada_post", "9400109104250532908587"),  # a USPS number
        ("usps", "7023210039414604"),  # a Canada Post number
        ("dhl", "RB123456785US"),  # S10 is not DHL's
        ("dhl", "3318810010"),  # wrong mod7 check digit
    ],
)
def test_check_refuses_other_formats_with_a_clear_validation_error(
    courier_code: str, number: str
) -> None:
    """A number outside the courier's formats is a ValidationError naming what was expected."""
    with pytest.raises(ValidationError) as raised:
        RULES.check(courier_code, number)
    details = raised.value.details
    assert details["field"] == "tracking_number"
    assert details["courier_code"] == courier_code
    assert details["expected_formats"] == [f.format_id for f in RULES.formats(courier_code)]
    assert courier_code in raised.value.message


def test_courier_formats_follow_the_courier_table() -> None:
    """Each courier's formats are those of its data files, in data-file order."""
    assert [f.format_id for f in RULES.formats("usps")] == [
        "usps_20",
        "usps_impb_n",
        "usps_legacy",
        "usps_impb_c",
        "s10",
    ]
    assert [f.format_id for f in RULES.formats("canada_post")] == ["canada_post", "s10"]
    assert [f.format_id for f in RULES.formats("dhl")] == [
        "dhl_express",
        "dhl_express_piece_id",
        "dhl_ecommerce",
        "dhl_ecommerce_14",
    ]
    assert set(COURIER_DATA) == {"usps", "canada_post", "dhl"}


@pytest.mark.parametrize("courier_code", ["chit_chats", "simulator", "unheard_of"])
def test_couriers_without_data_have_no_rules_and_accept_anything(courier_code: str) -> None:
    """Chit Chats shipment ids and simulator numbers are not checked."""
    assert not RULES.has_rules(courier_code)
    RULES.check(courier_code, "8ERNJ8SCQ9")
    RULES.check(courier_code, "anything at all")


def test_has_rules_for_the_couriers_with_data() -> None:
    assert all(RULES.has_rules(code) for code in ("usps", "canada_post", "dhl"))


def test_overlong_input_is_refused_without_running_the_patterns() -> None:
    """Input beyond the length limit matches nothing (and so cannot be slow)."""
    assert identify("7" * 500) == []
    with pytest.raises(ValidationError):
        RULES.check("canada_post", "7" * 500)


def test_packaged_data_files_are_the_fixture_files() -> None:
    """The package ships the data (importlib.resources finds it), unchanged."""
    package = resources.files("adapters.couriers.tracking_numbers") / "data"
    for name in DATA_FILES:
        shipped = package.joinpath(name).read_bytes()
        assert shipped == (FIXTURES / "tracking_numbers" / name).read_bytes()
    assert "Copyright (c) 2017 Jeff Keen" in package.joinpath("README.md").read_text()


@given(courier_code=st.sampled_from(["usps", "canada_post", "dhl", "chit_chats"]), number=st.text())
def test_check_raises_nothing_but_validation_error_on_any_text(
    courier_code: str, number: str
) -> None:
    """Arbitrary text is either accepted or refused with a ValidationError, never a crash."""
    refusal: ValidationError | None = None
    try:
        RULES.check(courier_code, number)
    except ValidationError as error:
        refusal = error
    if refusal is not None:
        assert refusal.details["courier_code"] == courier_code
        assert RULES.has_rules(courier_code)


@given(number=st.text(alphabet=st.sampled_from("0123456789 \t\nABCDEFGHJKLMNRSUVWXZ"), max_size=80))
def test_identify_never_crashes_on_tracking_number_like_text(number: str) -> None:
    """Digit-heavy text with blanks (what the patterns chew on most) is classified safely."""
    for found in identify(number):
        assert found.format_id
