"""Reading account CSVs: column mapping, tolerance for missing columns, bad rows named by line."""

from __future__ import annotations

import pytest

from undertow.health.accounts import AccountFileError, parse_number, read_accounts, read_outcomes, unknown_account_problems


def write(tmp_path, text: str, name: str = "accounts.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_values_and_rows_are_reported_and_the_rest_kept(tmp_path):
    path = write(
        tmp_path,
        "account_id,seats_licensed,seats_active,nps,csat,csm_sentiment\n"
        "acme,100,80,30,4.5,green\n"
        "beta,50,lots,30,9,purple\n"
        ",10,5,0,3,red\n"
        "acme,100,1,-50,1,red\n"
        "gamma,10,5,0,3,Amber\n",
    )
    table = read_accounts(path)
    assert [row.account_id for row in table.rows] == ["acme", "beta", "gamma"]
    assert [str(p) for p in table.problems] == [
        f"{path}:3: beta: seats_active is not a number: 'lots'; the value is ignored",
        f"{path}:3: beta: csat '9' is outside 1..5; the value is ignored",
        f"{path}:3: beta: csm_sentiment 'purple' is not green, yellow or red; ignored",
        f"{path}:4: no account_id: row skipped",
        f"{path}:5: duplicate account_id 'acme' (first on line 2): row skipped",
    ]
    beta = table.rows[1]
    assert beta.values == {"seats_licensed": 50, "nps": 30}
    assert "csm_sentiment" not in beta.text
    assert table.rows[0].values["seats_active"] == 80  # the first acme row wins
    assert table.rows[2].text["csm_sentiment"] == "yellow"


def test_crm_headers_are_matched_loosely_and_mapped_explicitly(tmp_path):
    path = write(
        tmp_path,
        "Customer ID,Company Name,Seats Licensed,Active Users,NPS Score,Region\n"
        "c-1,Acme Ltd,\"1,250\",\"1,000\",40,EMEA\n",
    )
    table = read_accounts(path, {"seats_active": "Active Users", "nps": "NPS Score"})
    (row,) = table.rows
    assert row.account_id == "c-1"
    assert row.text["account_name"] == "Acme Ltd"
    assert row.values == {"seats_licensed": 1250, "seats_active": 1000, "nps": 40}
    assert row.raw["Region"] == "EMEA" and row.raw["Seats Licensed"] == "1,250"  # kept as written
    assert "csat" in table.missing and "seats_active" not in table.missing


def test_file_level_errors_say_how_to_fix_them(tmp_path):
    no_id = write(tmp_path, "Org,Seats\nacme,3\n")
    with pytest.raises(AccountFileError, match=r"no account_id column .*--map account_id=COLUMN"):
        read_accounts(no_id)
    with pytest.raises(AccountFileError, match="no column 'Customer'"):
        read_accounts(no_id, {"account_id": "Customer"})
    with pytest.raises(AccountFileError, match="unknown fields"):
        read_accounts(no_id, {"account": "Org"})
    with pytest.raises(AccountFileError, match="empty file"):
        read_accounts(write(tmp_path, "", "empty.csv"))


def test_european_and_other_exports_are_read_as_they_come(tmp_path):
    semicolons = read_accounts(write(tmp_path, 'Account ID;Account Name;ARR;Health\nb1;Bee;"1.250,50";Amber\n', "semi.csv"))
    assert [(r.account_id, r.values["arr"], r.text["csm_sentiment"]) for r in semicolons.rows] == [("b1", 1250.5, "yellow")]
    tabs = read_accounts(write(tmp_path, "account_id\tarr\nt1\t5\n", "tabs.tsv"))
    assert [(r.account_id, r.values["arr"]) for r in tabs.rows] == [("t1", 5.0)]
    latin = tmp_path / "latin.csv"
    latin.write_bytes("account_id,account_name\nm1,M\u00fcller GmbH\n".encode("cp1252"))
    table = read_accounts(latin)
    assert table.rows[0].raw["account_name"] == "M\u00fcller GmbH"
    assert [(p.line, p.skipped) for p in table.problems] == [(1, False)] and "not UTF-8" in table.problems[0].reason


def test_individual_nps_answers_become_the_segment_scale(tmp_path):
    table = read_accounts(write(tmp_path, "account_id,nps\na,10\nb,7\nc,3\nd,\n"))
    assert table.nps_scale == "person"
    assert [row.values.get("nps") for row in table.rows] == [100.0, 0.0, -100.0, None]
    segment = read_accounts(write(tmp_path, "account_id,nps\na,10\nb,-20\n", "segment.csv"))
    assert segment.nps_scale == "segment" and segment.rows[0].values["nps"] == 10


@pytest.mark.parametrize("text, number", [("1,250", 1250.0), ("$12,000.50", 12000.5), ("4,5", 4.5), (" 7 ", 7.0), ("-3", -3.0),
                                          ("1.250,50", 1250.5), ("€1.250.000", 1250000.0), ("1.250", 1.25)])
def test_numbers_as_crm_exports_write_them(text, number):
    assert parse_number(text) == number


@pytest.mark.parametrize("text", ["nan", "inf", "12abc", "1.2.3"])
def test_not_numbers(text):
    with pytest.raises(ValueError):
        parse_number(text)


def test_unknown_accounts_are_named_by_line(tmp_path):
    path = write(tmp_path, "account_id\nacme\nghost\n")
    problems = unknown_account_problems(read_accounts(path), {"acme"})
    assert [str(p) for p in problems] == [
        f"{path}:3: account 'ghost' has no documents in the store; scored on numbers alone (check the id, or ingest its documents)"
    ]


def test_outcomes(tmp_path):
    path = write(tmp_path, "account_id,churned,outcome_date\na,true,2026-01-01\nb,No,\nc,maybe,\na,false,\n", "outcomes.csv")
    outcomes = read_outcomes(path)
    assert outcomes.churned == {"a": True, "b": False}
    assert [p.line for p in outcomes.problems] == [4, 5]
    with pytest.raises(AccountFileError, match="--map churned=COLUMN"):
        read_outcomes(write(tmp_path, "account_id,lost\na,1\n", "bad.csv"))


def test_excel_sep_line_is_honoured_and_skipped(tmp_path):
    path = write(tmp_path, "sep=;\naccount_id;arr;nps\nacme;1.250,50;30\nbeta;lots;10\n")
    table = read_accounts(path)
    assert [(row.account_id, row.values.get("arr")) for row in table.rows] == [("acme", 1250.5), ("beta", None)]
    assert [str(p) for p in table.problems] == [f"{path}:4: beta: arr is not a number: 'lots'; the value is ignored"]
    outcomes = read_outcomes(write(tmp_path, "sep=|\naccount_id|churned\nacme|true\n", "outcomes.csv"))
    assert outcomes.churned == {"acme": True}


def test_a_repeated_column_that_a_field_reads_refuses_the_file(tmp_path):
    path = write(tmp_path, "account_id,arr,ARR\nacme,100,200\n")
    with pytest.raises(AccountFileError) as refused:
        read_accounts(path)
    assert str(refused.value) == (
        f"{path}:1: column 'arr' appears twice (columns 2, 3); rename one in the file, or map arr to another column with --map arr=COLUMN"
    )
    assert read_accounts(path, {"arr": "ARR"}).rows[0].values["arr"] == 200


def test_an_export_with_a_header_and_no_rows_is_a_problem_not_a_quiet_night(tmp_path):
    table = read_accounts(write(tmp_path, "account_id,arr\n", "empty-export.csv"))
    assert table.rows == [] and [str(p).split(": ", 1)[1] for p in table.problems] == [
        "no account rows under the header: nothing was scored (an empty export?)"]


def test_a_european_export_s_lone_dot_group_is_thousands(tmp_path):
    path = write(tmp_path, "account_id;arr;csat\nkunde-a;1.250.000,00;4,5\nkunde-b;48.000;4,5\n")
    table = read_accounts(path)
    assert [row.values["arr"] for row in table.rows] == [1_250_000, 48_000]
    assert table.notes == [] and table.problems == []


def test_a_lone_dot_group_the_file_does_not_explain_is_read_as_a_decimal_and_named(tmp_path):
    path = write(tmp_path, "account_id,arr\nacme,48.000\nbeta,900\n")
    table = read_accounts(path)
    assert table.rows[0].values["arr"] == 48
    [note] = table.notes
    assert note.line == 2 and "arr '48.000' read with the dot as a decimal point (48)" in note.reason


def test_the_file_s_unambiguous_dates_decide_the_order_of_the_rest(tmp_path):
    month_first = read_accounts(write(tmp_path, "account_id,renewal_date\na,03/11/2026\nb,12/25/2026\n"))
    assert [row.renewal.isoformat() for row in month_first.rows] == ["2026-03-11", "2026-12-25"] and month_first.notes == []
    day_first = read_accounts(write(tmp_path, "account_id,renewal_date\na,03/11/2026\nb,25/12/2026\n", "d.csv"))
    assert [row.renewal.isoformat() for row in day_first.rows] == ["2026-11-03", "2026-12-25"] and day_first.notes == []
    unknown = read_accounts(write(tmp_path, "account_id,renewal_date\na,03/11/2026\nb,04/10/2026\n", "u.csv"))
    assert unknown.rows[0].renewal.isoformat() == "2026-11-03"
    [note] = unknown.notes
    assert "renewal_date '03/11/2026' and 1 more like it read day first (3 November 2026)" in note.reason and "YYYY-MM-DD" in note.reason


def test_more_active_seats_than_paid_ones_is_a_bad_value(tmp_path):
    table = read_accounts(write(tmp_path, "account_id,seats_licensed,seats_active\na,10,40\nb,10,9\n"))
    assert "seats_active" not in table.rows[0].values and table.rows[1].values["seats_active"] == 9
    assert [str(p).split(": ", 1)[1] for p in table.problems] == ["a: seats_active 40 is more than seats_licensed 10; seats_active is ignored"]


def test_the_nps_scale_read_from_the_column_is_named_and_can_be_set(tmp_path):
    path = write(tmp_path, "account_id,nps\np1,5\np2,10\n")
    auto = read_accounts(path)
    assert auto.nps_scale == "person" and [row.values["nps"] for row in auto.rows] == [-100, 100]
    assert "read as one person's answer" in auto.notes[0].reason and "nps_scale: segment" in auto.notes[0].reason
    segment = read_accounts(path, nps_scale="segment")
    assert [row.values["nps"] for row in segment.rows] == [5, 10] and segment.notes == []
    with pytest.raises(AccountFileError, match="nps_scale is 'person'"):
        read_accounts(write(tmp_path, "account_id,nps\np1,40\n", "s.csv"), nps_scale="person")
