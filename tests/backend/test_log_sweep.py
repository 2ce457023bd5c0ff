"""The log sweep's matcher (tests/utils/log_sweep.py), which the end-to-end suite runs over
every process's output: it must find a value in the forms a log may hold, and not cry wolf
on what logs are full of (timestamps, hex ids, short or common names)."""

from __future__ import annotations

from pathlib import Path

from tests.utils.log_sweep import (
    Secret,
    birth_date_secret,
    by_process,
    code_secret,
    log_files,
    name_secret,
    phone_secret,
    record_secrets,
    report,
    sent_codes,
    sweep,
)

PATIENT = {
    "resourceType": "Patient",
    "name": [{"given": ["Maëlle", "Anne"], "family": "Girard"}],
    "telecom": [{"system": "phone", "value": "+12125550150"}],
    "birthDate": "2013-03-07",
    "contact": [
        {
            "name": {"given": ["Sébastien"], "family": "Girard"},
            "telecom": [{"system": "phone", "value": "+17185550199"}],
        }
    ],
}


def found(secret: Secret | None, line: str) -> bool:
    assert secret is not None
    return bool(sweep({"p": [line]}, [secret]))


def test_a_full_name_is_found_with_or_without_accents_middle_names_and_case() -> None:
    name = name_secret(["Maëlle", "Anne"], "Girard")
    for line in (
        "INFO user said 'Maëlle Anne Girard'",
        "text=maelle girard",
        "MAËLLE  GIRARD",
        "GET /search?q=Ma%C3%ABlle+Girard",
        "Girard, Maëlle Anne",
    ):
        assert found(name, line), line


def test_a_given_name_alone_or_inside_a_longer_word_is_not_a_leak() -> None:
    name = name_secret(["Maëlle"], "Girard")
    for line in ("Maëlle", "Girard", "Maëlle Girardot", "XMaëlle Girard"):
        assert not found(name, line), line


def test_names_too_short_to_tell_from_words_are_not_searched_for() -> None:
    assert name_secret(["Al"], "B") is None
    assert name_secret([], "Girard") is None
    assert name_secret(["Ann"], "Lee") is not None


def test_a_phone_is_found_in_e164_and_national_forms() -> None:
    phone = phone_secret("+12125550150")
    for line in (
        "to=+12125550150",
        "from 2125550150",
        "(212) 555-0150",
        "212-555-0150",
        "212.555.0150",
        "1 212 555 0150",
        "whatsapp:+12125550150",
        "GET /fhir/Patient?phone=%2B12125550150&_count=50",
    ):
        assert found(phone, line), line


def test_a_phone_inside_a_longer_number_or_id_is_not_a_leak() -> None:
    phone = phone_secret("+12125550150")
    for line in ("id 921255501501", "a12125550150", "212555015099"):
        assert not found(phone, line), line


def test_a_birth_date_is_found_in_iso_numeric_and_written_forms() -> None:
    birth = birth_date_secret("2013-03-07")
    for line in (
        "dob=2013-03-07",
        "03/07/2013",
        "3/7/2013",
        "07/03/2013",
        "07.03.2013",
        "2013/03/07",
        "March 7, 2013",
        "7th of March 2013",
        "mar. 7 2013",
    ):
        assert found(birth, line), line


def test_a_timestamp_on_the_same_day_is_not_a_birth_date() -> None:
    birth = birth_date_secret("2013-03-07")
    for line in ("2013-03-07T10:00:00Z", "2013-03-071", "v12013-03-07"):
        assert not found(birth, line), line
    assert birth_date_secret("not a date") is None


def test_a_code_is_found_alone_but_not_in_a_timestamp_or_a_hex_id() -> None:
    code = code_secret("162019")
    assert found(code, "user said: 162019")
    assert found(code, "text='162019'")
    for line in (
        "2026-12-03 19:35:57.162019",
        "19:35:57,162019",
        "conversation 3fa162019b",
        "1620190",
    ):
        assert not found(code, line), line


def test_codes_are_taken_from_the_messages_that_speak_of_a_code() -> None:
    codes = sent_codes(
        [
            "Riverside: your verification code is 481516. It expires in 10 minutes.",
            "Your appointment is at 10:30, booking ref 123456",
        ]
    )
    assert [secret.value for secret in codes] == ["481516"]


def test_records_give_names_phones_and_birth_dates_of_patients_and_their_contacts() -> None:
    secrets = {(s.kind, s.value) for s in record_secrets([PATIENT, PATIENT])}
    assert secrets == {
        ("name", "Maëlle Anne Girard"),
        ("name", "Sébastien Girard"),
        ("phone", "+12125550150"),
        ("phone", "+17185550199"),
        ("birth date", "2013-03-07"),
    }


def test_a_report_names_the_process_and_line_but_never_the_value(tmp_path: Path) -> None:
    log = "\n".join(
        [
            "ehr     | started",
            "backend | INFO turn from 212-555-0150",
            "rasa    | DEBUG Received user message 'Maëlle Girard'",
            "a line without a prefix",
        ]
    )
    sources = by_process(log)
    assert sources["backend"] == ["INFO turn from 212-555-0150"]
    assert sources["supervisor"] == ["a line without a prefix"]
    (tmp_path / "rasa").mkdir()
    (tmp_path / "rasa" / "rasa.log").write_text("x\n")
    assert log_files(tmp_path) == [tmp_path / "rasa" / "rasa.log"]

    leaks = sweep(sources, record_secrets([PATIENT]))
    text = report(leaks)
    assert [(leak.source, leak.line, leak.secret.kind) for leak in leaks] == [
        ("backend", 1, "phone"),
        ("rasa", 1, "name"),
    ]
    assert "212" not in text and "0150" not in text and "Maëlle" not in text
