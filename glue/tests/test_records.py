"""The CSV tokenizer alone: no Spark, so these run in milliseconds."""

from glueline_transform.records import decode, normalize_name, read_header, split_records, unique_names

COLUMNS = ["id", "name", "amount"]


def records(data: bytes, columns=COLUMNS, delimiter=",", quote='"'):
    return list(split_records("f.csv", data, columns, delimiter, quote))


def test_a_quoted_field_keeps_its_embedded_newline_and_delimiter():
    (r,) = records(b'id,name,amount\n1,"two\nlines, and a comma",3\n')
    assert r.values == ["1", "two\nlines, and a comma", "3"]
    assert r.problem is None
    assert r.raw == '1,"two\nlines, and a comma",3'


def test_mixed_line_endings_each_end_a_record():
    rs = records(b"id,name,amount\r\n1,a,1\n2,b,2\r\n3,c,3\r4,d,4")
    assert [r.values[0] for r in rs] == ["1", "2", "3", "4"]
    assert all(r.problem is None for r in rs)
    assert [r.values[2] for r in rs] == ["1", "2", "3", "4"]


def test_a_byte_order_mark_is_not_part_of_the_first_column_name():
    assert decode(b"\xef\xbb\xbfid") == "id"
    assert read_header(b"\xef\xbb\xbfid,name\n", ",", '"') == ["id", "name"]


def test_a_record_with_too_few_or_too_many_fields_is_a_problem():
    short, long_ = records(b"id,name,amount\n1,a\n2,b,3,4\n")
    assert short.problem == "has 2 fields, expected 3"
    assert long_.problem == "has 4 fields, expected 3"
    assert short.values == ["1", "a", None]


def test_line_numbers_count_from_the_header_across_multiline_records():
    rs = records(b'id,name,amount\n1,"a\nb",1\n\n2,c,2\n')
    assert [r.line for r in rs] == [2, 5]


def test_columns_are_matched_by_header_name_when_the_header_names_them_in_another_order():
    (r,) = records(b"amount,id,name\n3,1,a\n")
    assert r.values == ["1", "a", "3"]


def test_bytes_that_are_not_utf8_reject_only_their_record():
    ok, bad = records(b"id,name,amount\n1,a,1\n2,\xff\xfe,2\n")
    assert ok.problem is None
    assert bad.problem == "the record holds bytes that are not UTF-8"
    assert "\ufffd" in bad.raw


def test_another_delimiter_and_quote_character_are_honoured():
    (r,) = records(b"id;name;amount\n1;'a;b';2\n", delimiter=";", quote="'")
    assert r.values == ["1", "a;b", "2"]


def test_empty_and_header_only_files_have_no_records():
    assert records(b"") == []
    assert records(b"id,name,amount\n") == []
    assert read_header(b"", ",", '"') is None


def test_header_cells_become_usable_distinct_column_names():
    assert normalize_name(" Sale Date ") == "sale_date"
    assert normalize_name("2nd") == "c_2nd"
    assert unique_names(["A", "a", "Prix (€)"]) == ["a", "a_2", "prix"]
