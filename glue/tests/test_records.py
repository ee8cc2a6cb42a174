"""Names and single records, without Spark: these run in milliseconds (test_reader.py reads whole files)."""

from glueline_transform.reader import parse_record
from glueline_transform.records import normalize_name, unique_names


def test_a_quoted_field_keeps_its_embedded_newline_delimiter_and_doubled_quote():
    assert parse_record('1,"two\nlines, ""and"" a comma",3', ",", '"') == (["1", 'two\nlines, "and" a comma', "3"], None)


def test_a_record_holding_bytes_that_were_not_utf8_is_a_problem():
    fields, problem = parse_record("2,\ufffd,2", ",", '"')
    assert fields == ["2", "\ufffd", "2"]
    assert problem == "the record holds bytes that are not UTF-8"


def test_another_delimiter_and_quote_character_are_honoured():
    assert parse_record("1;'a;b';2", ";", "'") == (["1", "a;b", "2"], None)


def test_a_stray_quote_inside_an_unquoted_field_is_data():
    assert parse_record('1,5" screen,2', ",", '"') == (["1", '5" screen', "2"], None)


def test_header_cells_become_usable_distinct_column_names():
    assert normalize_name(" Sale Date ") == "sale_date"
    assert normalize_name("2nd") == "c_2nd"
    assert unique_names(["A", "a", "Prix (€)"]) == ["a", "a_2", "prix"]


def test_a_field_over_the_csv_modules_default_limit_of_128_kib_is_a_field():
    assert parse_record("1," + "x" * 200_000 + ",3", ",", '"') == (["1", "x" * 200_000, "3"], None)
