"""Reading one messy cell: dates, money, phones, emails, yes/no, and spreadsheet formula
neutralisation. Pure functions, no database."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from keepwarm.ingest.values import (
    MAX_CENTS,
    DateOrder,
    DateOrderNeeded,
    format_amount,
    neutralise,
    parse_amount,
    parse_bool,
    parse_date,
    parse_email,
    parse_phone,
    parse_quantity,
    restore,
)

MARCH_5 = dt.date(2024, 3, 5)


@pytest.mark.parametrize(
    "raw",
    [
        "2024-03-05",
        " 2024-03-05 ",
        "20240305",
        "2024/03/05",
        "2024.3.5",
        "5 Mar 2024",
        "5-March-2024",
        "Mar 5, 2024",
        "March 5th, 2024",
        "2024-03-05T10:15:00Z",
        "2024-03-05 10:15",
    ],
)
def test_unambiguous_dates_are_read_without_knowing_the_files_order(raw: str) -> None:
    assert parse_date(raw, None) == MARCH_5


def test_a_numeric_day_month_date_needs_the_files_order() -> None:
    with pytest.raises(DateOrderNeeded):
        parse_date("05/03/2024", None)
    assert parse_date("05/03/2024", DateOrder.DAY_FIRST) == MARCH_5
    assert parse_date("03/05/2024", DateOrder.MONTH_FIRST) == MARCH_5
    assert parse_date("05.03.24", DateOrder.DAY_FIRST) == MARCH_5


def test_two_digit_years_follow_the_posix_rule() -> None:
    assert parse_date("01/02/68", DateOrder.DAY_FIRST).year == 2068
    assert parse_date("01/02/69", DateOrder.DAY_FIRST).year == 1969


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("2024-02-30", "is not a real date"),
        ("31/04/2024", "is not a real date"),
        ("1899-12-31", "is before 1900"),
        ("next tuesday", "is not a date"),
        ("BUY CHEAP PILLS NOW at http://spam.example", "is not a date"),
    ],
)
def test_a_date_that_is_not_real_is_refused_with_its_reason(raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_date(raw, DateOrder.DAY_FIRST)


def test_a_problem_message_quotes_a_junk_cell_abbreviated() -> None:
    junk = "spam " * 20_000
    for parse in (lambda r: parse_date(r, None), parse_amount, parse_quantity, parse_bool):
        with pytest.raises(ValueError) as caught:
            parse(junk)
        assert len(str(caught.value)) < 120
        assert "..." in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "cents"),
    [
        ("0", 0),
        ("0.00", 0),
        ("12", 1200),
        ("12.5", 1250),
        ("-12.50", -1250),
        ("+3", 300),
        ("$1,234.50", 123450),
        ("£1,000", 100000),
        ("€ 12,00", 1200),
        ("12 kr", 1200),
        ("USD 5", 500),
        ("1.234,50", 123450),
        ("1 234,50", 123450),
        ("1\u00a0234,50", 123450),
        ("1'234.50", 123450),
        ("1,000,000.00", 100000000),
        ("1.000.000,00", 100000000),
        ("12,5", 1250),
        ("(12.00)", -1200),
        ("($1,234.50)", -123450),
        ("5-", -500),
        ("999999999999.99", MAX_CENTS),
    ],
)
def test_money_in_the_forms_businesses_write_it_becomes_exact_cents(raw: str, cents: int) -> None:
    assert parse_amount(raw) == cents


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("abc", "is not an amount of money"),
        ("1.2.3", "is not an amount of money"),
        ("--5", "is not an amount of money"),
        ("12.3456", "has more than two decimals"),
        ("1e5", "is not an amount of money"),
        ("1000000000000", "too large"),
        ("99999999999999999999999", "too large"),
        ("-" + "9" * 5000, "too large"),
    ],
)
def test_text_that_is_not_a_storable_amount_is_refused(raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_amount(raw)


@given(st.integers(min_value=-MAX_CENTS, max_value=MAX_CENTS))
def test_a_formatted_amount_reads_back_to_the_same_cents(cents: int) -> None:
    assert parse_amount(format_amount(cents)) == cents


def test_quantities_accept_a_decimal_comma_and_refuse_non_numbers() -> None:
    assert parse_quantity("2,5") == 2.5
    assert parse_quantity("3") == 3.0
    for raw in ("nan", "inf", "-inf", "a few"):
        with pytest.raises(ValueError, match="is not a number"):
            parse_quantity(raw)


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("415 555 0123", "US", "+14155550123"),
        ("(415) 555-0123", "US", "+14155550123"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+49 30 123456", "US", "+4930123456"),
        ("+1 415 555 0123", "GB", "+14155550123"),
    ],
)
def test_phone_numbers_become_e164_read_in_the_files_region(
    raw: str, region: str, e164: str
) -> None:
    assert parse_phone(raw, region) == e164


@pytest.mark.parametrize("raw", ["12", "call me", "555-CALL-NOW-PLEASE-NOW-NOW-NOW"])
def test_something_that_cannot_be_a_phone_number_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="is not a phone number"):
        parse_phone(raw, "US")


def test_emails_are_validated_and_their_domain_normalised() -> None:
    assert parse_email(" Zoë@Example.COM ") == "Zoë@example.com"
    for raw in ("not-an-email", "a@b", "a@@example.com", "a b@example.com"):
        with pytest.raises(ValueError, match="is not an email address"):
            parse_email(raw)


def test_yes_and_no_are_read_in_the_usual_spellings() -> None:
    assert [parse_bool(r) for r in ("yes", "Y", "true", "1", "x", "oui")] == [True] * 6
    assert [parse_bool(r) for r in ("no", "N", "false", "0", "nein", "")] == [False] * 6
    with pytest.raises(ValueError, match="is not yes or no"):
        parse_bool("maybe")


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+44 20 7946 0958", "'+44 20 7946 0958"),
        ("-5", "'-5"),
        ("@cmd", "'@cmd"),
        ("\tindented", "'\tindented"),
        ("\rreturn", "'\rreturn"),
        ("'=already quoted", "''=already quoted"),
        ("'plain apostrophe", "'plain apostrophe"),
        ("O'Brien", "O'Brien"),
        ("", ""),
    ],
)
def test_cells_a_spreadsheet_would_run_are_neutralised_and_restored_exactly(
    value: str, cell: str
) -> None:
    assert neutralise(value) == cell
    assert restore(cell) == value


@hyp_settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from("=+-@\t\r'ab ,\"\n")) | st.text())
def test_neutralising_is_safe_and_undone_by_restore_for_any_text(value: str) -> None:
    cell = neutralise(value)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert restore(cell) == value
