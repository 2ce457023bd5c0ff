"""Twilio webhooks: signatures (including 1,000+ generated forgeries), form parsing, numbers."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.twilio.client import provider_address
from channels.twilio.webhook import (
    ForeignAccount,
    FormParams,
    MalformedWebhook,
    decode_form,
    is_authentic,
    normalise_address,
    parse_inbound,
    parse_status,
    signed_url,
)
from tests.utils.twilio_double import form_body, sign

TOKEN = "0123456789abcdef0123456789abcdef"
ACCOUNT = "AC0123456789abcdef0123456789abcdef"
URL = "https://hub.example.org/channels/twilio/sms"
FORM = {
    "MessageSid": "SM0123456789abcdef0123456789abcdef",
    "AccountSid": ACCOUNT,
    "From": "+15551230001",
    "To": "+15550100000",
    "Body": "I need to book an appointment",
    "NumMedia": "0",
}
FORGERY_SETTINGS = settings(
    max_examples=1000,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def params(form: dict[str, str]) -> FormParams:
    decoded = decode_form(form_body(form).encode())
    assert decoded is not None
    return decoded


def authentic(form: dict[str, str], signature: str | None, url: str = URL) -> bool:
    return is_authentic(auth_token=TOKEN, url=url, params=params(form), signature=signature)


def test_a_genuine_signature_is_accepted() -> None:
    assert authentic(FORM, sign(TOKEN, URL, FORM))


@pytest.mark.parametrize("signature", [None, "", "not-a-signature", "AAAA"])
def test_missing_or_garbage_signatures_are_rejected(signature: str | None) -> None:
    assert not authentic(FORM, signature)


def test_no_configured_token_accepts_nothing() -> None:
    signature = sign("", URL, FORM)
    assert not is_authentic(auth_token="", url=URL, params=params(FORM), signature=signature)


def test_a_signature_for_another_url_is_rejected() -> None:
    other = "https://hub.example.org/channels/twilio/whatsapp"
    assert not authentic(FORM, sign(TOKEN, other, FORM))


def test_a_replay_with_an_altered_body_is_rejected() -> None:
    signature = sign(TOKEN, URL, FORM)
    assert not authentic({**FORM, "Body": "Cancel all my appointments"}, signature)
    assert not authentic({**FORM, "From": "+15559999999"}, signature)


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
forms = st.dictionaries(st.sampled_from([*sorted(FORM), "Extra", "MediaUrl0"]), texts, min_size=1)


@FORGERY_SETTINGS
@given(form=forms, signature=st.text(max_size=40))
def test_generated_signatures_are_never_accepted(form: dict[str, str], signature: str) -> None:
    assert not authentic(form, signature)


@FORGERY_SETTINGS
@given(name=st.sampled_from(sorted(FORM)), value=texts)
def test_generated_alterations_of_a_signed_body_are_never_accepted(name: str, value: str) -> None:
    altered = {**FORM, name: value}
    if altered == FORM:
        altered[name] = value + "x"
    assert not authentic(altered, sign(TOKEN, URL, FORM))


@FORGERY_SETTINGS
@given(token=st.text(min_size=1, max_size=40), form=forms)
def test_signatures_made_with_another_token_are_never_accepted(
    token: str, form: dict[str, str]
) -> None:
    if token == TOKEN:
        token += "x"
    assert not authentic(form, sign(token, URL, form))


@FORGERY_SETTINGS
@given(path=st.from_regex(r"/[a-z/]{0,30}", fullmatch=True))
def test_signatures_for_other_urls_are_never_accepted(path: str) -> None:
    url = "https://hub.example.org" + path
    if url.rstrip("/") == URL:
        url = URL + "/x"
    assert not authentic(FORM, sign(TOKEN, url, FORM))


def test_signed_url_is_the_public_base_plus_path_and_query() -> None:
    assert signed_url("https://hub.example.org/", "/channels/twilio/sms") == URL
    assert signed_url("https://h.org", "/p", "a=1") == "https://h.org/p?a=1"


@pytest.mark.parametrize("body", [b"\xff\xfe", b"a=1&&=", b"x" * (64 * 1024 + 1)])
def test_undecodable_bodies_are_not_forms(body: bytes) -> None:
    assert decode_form(body) is None


def test_parse_inbound_normalises_the_sender() -> None:
    form = parse_inbound(
        params({**FORM, "From": "+1 (555) 123-0001"}), channel="sms", account_sid=ACCOUNT
    )
    assert form["From"] == "+15551230001"
    assert form["Body"] == FORM["Body"]
    assert form["MessageSid"] == FORM["MessageSid"]


def test_whatsapp_senders_carry_the_prefix() -> None:
    assert normalise_address("whatsapp:+447700900123", channel="whatsapp") == "+447700900123"
    with pytest.raises(MalformedWebhook):
        normalise_address("+447700900123", channel="whatsapp")
    with pytest.raises(MalformedWebhook):
        normalise_address("whatsapp:+447700900123", channel="sms")
    assert provider_address("+447700900123", channel="whatsapp") == "whatsapp:+447700900123"
    assert provider_address("+447700900123", channel="sms") == "+447700900123"


@pytest.mark.parametrize("sender", ["", "alice", "5551230001", "+1", "+1555123000199999999"])
def test_senders_that_are_not_international_numbers_are_malformed(sender: str) -> None:
    with pytest.raises(MalformedWebhook):
        parse_inbound(params({**FORM, "From": sender}), channel="sms", account_sid=ACCOUNT)


@pytest.mark.parametrize("missing", ["MessageSid", "From", "Body", "AccountSid", "To"])
def test_forms_without_a_required_field_are_malformed(missing: str) -> None:
    form = {k: v for k, v in FORM.items() if k != missing}
    with pytest.raises(MalformedWebhook, match=missing):
        parse_inbound(params(form), channel="sms", account_sid=ACCOUNT)


def test_repeated_fields_are_malformed() -> None:
    decoded = decode_form((form_body(FORM) + "&Body=second").encode())
    assert decoded is not None
    with pytest.raises(MalformedWebhook, match="repeats Body"):
        parse_inbound(decoded, channel="sms", account_sid=ACCOUNT)


def test_status_callbacks_parse_sid_status_and_error() -> None:
    form = parse_status(
        params({"MessageSid": "SM1", "MessageStatus": "undelivered", "ErrorCode": "30003"})
    )
    assert form == {"MessageSid": "SM1", "MessageStatus": "undelivered", "ErrorCode": "30003"}
    with pytest.raises(MalformedWebhook):
        parse_status(params({"MessageSid": "SM1"}))


def test_a_replay_with_the_message_sid_boundary_moved_validates_but_is_malformed() -> None:
    # The signature runs names and values together: "...MessageSid" + sid + "NumMedia" + "0"
    # is the same string when NumMedia's name and value are folded into the sid.
    shifted = {k: v for k, v in FORM.items() if k != "NumMedia"}
    shifted["MessageSid"] = FORM["MessageSid"] + "NumMedia0"
    assert authentic(shifted, sign(TOKEN, URL, FORM))
    with pytest.raises(MalformedWebhook, match="MessageSid"):
        parse_inbound(params(shifted), channel="sms", account_sid=ACCOUNT)


@pytest.mark.parametrize(
    "sid",
    [
        "SM1",
        "SM" + "0" * 31,
        "SM" + "0" * 33,
        "SM" + "0" * 32 + "NumMedia0",
        "XX" + "0" * 32,
        "sm" + "0" * 32,
        "SM" + "g" * 32,
        " SM" + "0" * 32,
    ],
)
def test_message_sids_not_in_twilios_format_are_malformed(sid: str) -> None:
    with pytest.raises(MalformedWebhook, match="MessageSid"):
        parse_inbound(params({**FORM, "MessageSid": sid}), channel="sms", account_sid=ACCOUNT)


@pytest.mark.parametrize("sid", ["SM" + "ab" * 16, "MM" + "AB12" * 8])
def test_sms_and_media_message_sids_are_accepted(sid: str) -> None:
    form = parse_inbound(params({**FORM, "MessageSid": sid}), channel="sms", account_sid=ACCOUNT)
    assert form["MessageSid"] == sid


@pytest.mark.parametrize("sid", ["AC123", "AC" + "0" * 33, "XX" + "0" * 32, "AC" + "z" * 32])
def test_account_sids_not_in_twilios_format_are_malformed(sid: str) -> None:
    with pytest.raises(MalformedWebhook, match="AccountSid"):
        parse_inbound(params({**FORM, "AccountSid": sid}), channel="sms", account_sid=ACCOUNT)


def test_another_accounts_sid_is_refused_as_foreign() -> None:
    other = "AC" + "f" * 32
    with pytest.raises(ForeignAccount, match="TWILIO_ACCOUNT_SID"):
        parse_inbound(params({**FORM, "AccountSid": other}), channel="sms", account_sid=ACCOUNT)


def test_with_no_account_configured_only_the_account_sids_format_is_checked() -> None:
    other = "AC" + "f" * 32
    form = parse_inbound(params({**FORM, "AccountSid": other}), channel="sms", account_sid="")
    assert form["AccountSid"] == other


@pytest.mark.parametrize("body", [None, ""])
def test_a_message_of_photos_only_parses_with_an_empty_body(body: str | None) -> None:
    form = {k: v for k, v in FORM.items() if k != "Body"}
    if body is not None:
        form["Body"] = body
    form.update(NumMedia="2", MediaUrl0="https://api.twilio.com/m/0", MediaUrl1="https://x/1")
    parsed = parse_inbound(params(form), channel="sms", account_sid=ACCOUNT)
    assert (parsed["Body"], parsed["NumMedia"]) == ("", 2)


def test_a_text_message_counts_no_media() -> None:
    form = {k: v for k, v in FORM.items() if k != "NumMedia"}
    assert parse_inbound(params(form), channel="sms", account_sid=ACCOUNT)["NumMedia"] == 0


@pytest.mark.parametrize("count", ["-1", "one", "1000", "1.0"])
def test_a_media_count_that_is_not_a_count_is_malformed(count: str) -> None:
    with pytest.raises(MalformedWebhook, match="NumMedia"):
        parse_inbound(params({**FORM, "NumMedia": count}), channel="sms", account_sid=ACCOUNT)
