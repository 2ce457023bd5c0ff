"""SMS and WhatsApp through Twilio: verified webhooks, the hub path, outbound via the REST API.

The real twilio Client sends to a local double of the Messages API (tests/utils/twilio_double).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select

from backend.core.config import Settings
from backend.db.migrate import upgrade
from backend.db.models import Conversation, OutboundDelivery
from backend.hub.unreadable import REPLIES, Unreadable
from backend.services import Services
from tests.backend.conftest import make_settings
from tests.utils.fake_rasa import FakeRasa
from tests.utils.twilio_channel import (
    ACCOUNT,
    BASE,
    PATIENT,
    SMS_FROM,
    TOKEN,
    WHATSAPP_FROM,
    inbound_form,
    logged,
    post_signed,
    stored_messages,
    text_in,
    twilio_overrides,
)
from tests.utils.twilio_double import TwilioDouble, form_body, sign


@pytest.fixture
def settings(twilio_settings: Settings) -> Settings:
    return twilio_settings


def test_a_signed_sms_is_stored_answered_with_empty_twiml_and_replied_through_the_api(
    client: TestClient, services: Services, fake_rasa: FakeRasa, twilio: TwilioDouble
) -> None:
    response = text_in(client, "hello")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert response.text.endswith("<Response/>")
    assert fake_rasa.texts == ["hello"]
    assert stored_messages(services) == 2
    [sent] = twilio.sent
    assert sent.account_sid == ACCOUNT and sent.auth == (ACCOUNT, TOKEN)
    assert sent.form["To"] == PATIENT and sent.form["From"] == SMS_FROM
    assert sent.form["Body"] == "echo: hello"
    assert sent.form["StatusCallback"] == f"{BASE}/channels/twilio/status"


def test_whatsapp_uses_the_whatsapp_prefix_both_ways(
    client: TestClient, fake_rasa: FakeRasa, twilio: TwilioDouble
) -> None:
    assert text_in(client, "hello", channel="whatsapp", sender="+447700900123").status_code == 200
    [sent] = twilio.sent
    assert sent.form["To"] == "whatsapp:+447700900123"
    assert sent.form["From"] == f"whatsapp:{WHATSAPP_FROM}"


def test_phone_numbers_never_reach_rasa_or_the_database_in_clear(
    client: TestClient, services: Services, fake_rasa: FakeRasa
) -> None:
    text_in(client, "hello")
    [(conversation, _)] = fake_rasa.received
    assert "5551230001" not in conversation
    with services.session_factory() as session:
        row = session.scalars(select(Conversation)).one()
    assert "5551230001" not in row.address_hash + row.address_ciphertext


@pytest.mark.parametrize(
    "forge",
    ["missing", "wrong", "altered body", "other url", "other token"],
)
def test_unverified_webhooks_are_refused_and_nothing_is_stored(
    client: TestClient, services: Services, fake_rasa: FakeRasa, twilio: TwilioDouble, forge: str
) -> None:
    form = inbound_form("hello")
    signature = sign(TOKEN, f"{BASE}/channels/twilio/sms", form)
    if forge == "missing":
        headers = {}
    elif forge == "wrong":
        headers = {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}
    elif forge == "altered body":
        form = {**form, "Body": "cancel everything"}
        headers = {"X-Twilio-Signature": signature}
    elif forge == "other url":
        headers = {"X-Twilio-Signature": sign(TOKEN, f"{BASE}/channels/twilio/whatsapp", form)}
    else:
        headers = {"X-Twilio-Signature": sign("another-token", f"{BASE}/channels/twilio/sms", form)}
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = client.post("/channels/twilio/sms", content=form_body(form), headers=headers)
    assert response.status_code == 403
    assert stored_messages(services) == 0
    assert fake_rasa.received == [] and twilio.sent == []


@hypothesis_settings(
    max_examples=1000,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.text(max_size=30),
    signature=st.text(max_size=30),
    channel=st.sampled_from(["sms", "whatsapp", "status"]),
)
def test_a_thousand_generated_forgeries_are_all_refused(
    client: TestClient,
    services: Services,
    fake_rasa: FakeRasa,
    body: str,
    signature: str,
    channel: str,
) -> None:
    form = inbound_form(body, channel="whatsapp" if channel == "whatsapp" else "sms")
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature.isascii() and signature.isprintable():
        headers["X-Twilio-Signature"] = signature
    response = client.post(f"/channels/twilio/{channel}", content=form_body(form), headers=headers)
    assert response.status_code == 403
    assert stored_messages(services) == 0 and fake_rasa.received == []


def test_with_no_auth_token_configured_every_webhook_is_refused(
    tmp_path: Path, fake_rasa: FakeRasa
) -> None:
    from backend.main import create_app
    from backend.services import build_services

    bare = make_settings(tmp_path)
    upgrade(bare.effective_database_url)
    with TestClient(create_app(bare, build_services(bare, rasa=fake_rasa))) as bare_client:
        form = inbound_form("hello")
        response = post_signed(bare_client, "/channels/twilio/sms", form, token="")
    assert response.status_code == 403
    assert "not configured" in response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"From": "not-a-number"}, 400),
        ({"From": "whatsapp:+15551230001"}, 400),
        ({"MessageSid": ""}, 400),
        ({"Body": "   "}, 422),
    ],
)
def test_malformed_signed_forms_get_a_clear_4xx_and_nothing_is_stored(
    client: TestClient, services: Services, fake_rasa: FakeRasa, change: dict, status: int
) -> None:
    response = post_signed(client, "/channels/twilio/sms", {**inbound_form("hi"), **change})
    assert response.status_code == status
    assert response.json()["detail"]
    assert stored_messages(services) == 0 and fake_rasa.received == []


def test_a_signed_form_without_from_is_refused_with_the_field_named(
    client: TestClient, services: Services
) -> None:
    form = inbound_form("hi")
    del form["From"]
    response = post_signed(client, "/channels/twilio/sms", form)
    assert response.status_code == 400 and "From" in response.json()["detail"]
    assert stored_messages(services) == 0


def test_a_duplicate_message_sid_is_ignored(
    client: TestClient, services: Services, fake_rasa: FakeRasa, twilio: TwilioDouble
) -> None:
    form = inbound_form("hello")
    assert post_signed(client, "/channels/twilio/sms", form).status_code == 200
    assert post_signed(client, "/channels/twilio/sms", form).status_code == 200
    assert fake_rasa.texts == ["hello"]
    assert len(twilio.sent) == 1
    assert stored_messages(services) == 2


def test_buttons_are_numbered_and_typing_1_picks_the_first(
    client: TestClient, fake_rasa: FakeRasa, twilio: TwilioDouble
) -> None:
    text_in(client, "offer")
    assert twilio.bodies == ["Would you like a person?\n1. Yes please\n2. No thanks"]
    text_in(client, "1")
    assert fake_rasa.texts == ["offer", "/affirm"]


def test_a_long_reply_is_sent_as_numbered_sms_segments(
    client: TestClient, twilio: TwilioDouble
) -> None:
    text_in(client, "Please call me back tomorrow. " * 8)
    assert len(twilio.bodies) > 1
    assert all(
        body.startswith(f"({n}/{len(twilio.bodies)}) ") for n, body in enumerate(twilio.bodies, 1)
    )
    assert all(len(body) <= 160 for body in twilio.bodies)


def test_when_rasa_is_down_the_message_is_kept_and_the_patient_told(
    client: TestClient, services: Services, fake_rasa: FakeRasa, twilio: TwilioDouble
) -> None:
    fake_rasa.down = True
    response = text_in(client, "hello")  # tried PHONE_TURN_TRIES times from the queue
    assert response.status_code == 200
    assert stored_messages(services) == 2  # the patient's message and the apology
    [apology] = twilio.bodies
    assert "unavailable" in apology and "kept" in apology


def test_a_refusal_from_twilio_is_recorded_and_the_webhook_still_answers(
    client: TestClient, services: Services, twilio: TwilioDouble
) -> None:
    twilio.refuse_with = 21610
    assert text_in(client, "hello").status_code == 200
    with services.session_factory() as session:
        row = session.scalars(select(OutboundDelivery)).one()
    assert (row.status, row.error_code) == ("failed", "21610")


def test_status_callbacks_are_verified_and_recorded(
    client: TestClient, services: Services, twilio: TwilioDouble
) -> None:
    text_in(client, "hello")
    sid = twilio.sent[0].sid
    form = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": ACCOUNT}
    unsigned = client.post(
        "/channels/twilio/status",
        content=form_body({**form, "MessageStatus": "failed"}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert unsigned.status_code == 403
    assert post_signed(client, "/channels/twilio/status", form).status_code == 204
    with services.session_factory() as session:
        row = session.scalars(select(OutboundDelivery)).one()
    assert row.provider_message_id == sid and row.status == "delivered"


def test_a_status_callback_without_a_status_is_a_clear_400(client: TestClient) -> None:
    response = post_signed(client, "/channels/twilio/status", {"MessageSid": "SM1"})
    assert response.status_code == 400


def test_the_dev_outbox_is_not_mounted_outside_development(client: TestClient) -> None:
    assert client.get("/dev/outbox.json").status_code == 404
    assert client.get("/dev/outbox").status_code == 404


def test_without_a_twilio_account_outbound_goes_to_the_dev_outbox(
    tmp_path: Path, fake_rasa: FakeRasa, twilio: TwilioDouble
) -> None:
    from backend.main import create_app
    from backend.services import build_services

    dev = make_settings(tmp_path, env="development", twilio_auth_token=TOKEN, public_base_url=BASE)
    upgrade(dev.effective_database_url)
    app = create_app(dev, build_services(dev, rasa=fake_rasa))
    with TestClient(app, client=("127.0.0.1", 50000)) as dev_client:  # the outbox: loopback
        assert text_in(dev_client, "offer").status_code == 200
        outbox = dev_client.get("/dev/outbox.json").json()
        page = dev_client.get("/dev/outbox")
    assert twilio.sent == []
    [entry] = outbox
    assert entry["to"] == PATIENT and entry["channel"] == "sms"
    assert entry["text"].endswith("1. Yes please\n2. No thanks")
    assert set(entry) == {"to", "channel", "text", "at"}
    assert page.status_code == 200 and "1. Yes please" in page.text


def test_a_channel_without_a_sending_number_records_a_failure(
    tmp_path: Path, fake_rasa: FakeRasa, twilio: TwilioDouble
) -> None:
    from backend.main import create_app
    from backend.services import build_services

    no_whatsapp = make_settings(
        tmp_path, **{**twilio_overrides(twilio.base_url), "twilio_whatsapp_from": ""}
    )
    upgrade(no_whatsapp.effective_database_url)
    services = build_services(no_whatsapp, rasa=fake_rasa)
    with TestClient(create_app(no_whatsapp, services)) as bare_client:
        assert text_in(bare_client, "hello", channel="whatsapp").status_code == 200
    with services.session_factory() as session:
        row = session.scalars(select(OutboundDelivery)).one()
    assert (row.status, row.error_code) == ("failed", "no_sender")
    assert twilio.sent == []


def test_a_replay_with_its_message_sid_boundary_moved_is_refused_and_not_answered_again(
    client: TestClient, services: Services, fake_rasa: FakeRasa, twilio: TwilioDouble
) -> None:
    form = inbound_form("cancel my appointment")
    signature = sign(TOKEN, f"{BASE}/channels/twilio/sms", form)
    assert post_signed(client, "/channels/twilio/sms", form).status_code == 200
    # "NumMedia" + "0" folded into the sid: the same signed string, a "new" MessageSid.
    shifted = {k: v for k, v in form.items() if k != "NumMedia"}
    shifted["MessageSid"] = form["MessageSid"] + "NumMedia0"
    replay = client.post(
        "/channels/twilio/sms",
        content=form_body(shifted),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )
    assert replay.status_code == 400 and "MessageSid" in replay.json()["detail"]
    assert fake_rasa.texts == ["cancel my appointment"]
    assert stored_messages(services) == 2 and len(twilio.sent) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"MessageSid": "SM1"}, "MessageSid"),
        ({"MessageSid": "XX" + "0" * 32}, "MessageSid"),
        ({"AccountSid": "AC123"}, "AccountSid"),
    ],
)
def test_sids_not_in_twilios_format_are_a_clear_400_and_nothing_is_stored(
    client: TestClient, services: Services, fake_rasa: FakeRasa, change: dict, field: str
) -> None:
    response = post_signed(client, "/channels/twilio/sms", {**inbound_form("hi"), **change})
    assert response.status_code == 400 and field in response.json()["detail"]
    assert stored_messages(services) == 0 and fake_rasa.received == []


def test_a_webhook_naming_another_twilio_account_is_refused_and_nothing_is_stored(
    client: TestClient, services: Services, fake_rasa: FakeRasa
) -> None:
    form = inbound_form("hi", AccountSid="AC" + "f" * 32)
    response = post_signed(
        client, "/channels/twilio/whatsapp", {**form, "From": "whatsapp:" + PATIENT}
    )
    assert response.status_code == 403 and "TWILIO_ACCOUNT_SID" in response.json()["detail"]
    assert stored_messages(services) == 0 and fake_rasa.received == []


def test_a_media_message_sid_is_accepted(client: TestClient, fake_rasa: FakeRasa) -> None:
    form = inbound_form("hello", MessageSid="MM" + "a1" * 16)
    assert post_signed(client, "/channels/twilio/sms", form).status_code == 200
    assert fake_rasa.texts == ["hello"]


def _status(client: TestClient, sid: str, status: str) -> int:
    form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": ACCOUNT}
    return post_signed(client, "/channels/twilio/status", form).status_code


def _recorded_status(services: Services) -> str:
    with services.session_factory() as session:
        return session.scalars(select(OutboundDelivery.status)).one()


def test_a_replayed_older_status_is_acknowledged_but_never_moves_the_status_back(
    client: TestClient, services: Services, twilio: TwilioDouble
) -> None:
    text_in(client, "hello", channel="whatsapp")
    sid = twilio.sent[0].sid
    assert _status(client, sid, "delivered") == 204
    assert _status(client, sid, "sent") == 204  # late, or replayed
    assert _recorded_status(services) == "delivered"
    assert _status(client, sid, "read") == 204
    assert _status(client, sid, "delivered") == 204
    assert _status(client, sid, "failed") == 204
    assert _recorded_status(services) == "read"


def test_a_status_twilio_does_not_document_is_acknowledged_but_not_recorded(
    client: TestClient, services: Services, twilio: TwilioDouble
) -> None:
    text_in(client, "hello")
    assert _status(client, twilio.sent[0].sid, "teleported") == 204
    assert _recorded_status(services) == "queued"


@pytest.mark.parametrize("channel", ["sms", "whatsapp"])
def test_a_photo_without_text_is_stored_and_the_patient_asked_to_type_instead(
    client: TestClient, services: Services, fake_rasa: FakeRasa, twilio: TwilioDouble, channel: str
) -> None:
    form = inbound_form("", channel=channel, NumMedia="1", MediaContentType0="image/jpeg")
    form["MediaUrl0"] = "https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME"
    assert post_signed(client, f"/channels/twilio/{channel}", form).status_code == 200
    assert fake_rasa.received == []
    assert logged(services, channel) == [
        ("in", "[1 attachment with no text, not opened]"),
        ("out", REPLIES[Unreadable.ATTACHMENT]),
    ]
    assert "only read text" in " ".join(twilio.bodies)


def test_a_photo_sent_with_no_body_field_at_all_is_answered_too(
    client: TestClient, services: Services, fake_rasa: FakeRasa, twilio: TwilioDouble
) -> None:
    form = inbound_form("", NumMedia="2")
    del form["Body"]
    assert post_signed(client, "/channels/twilio/sms", form).status_code == 200
    assert fake_rasa.received == [] and twilio.sent
    assert logged(services)[0] == ("in", "[2 attachments with no text, not opened]")


def test_a_text_over_the_length_limit_is_stored_whole_and_the_patient_asked_for_shorter_parts(
    client: TestClient, services: Services, settings: Settings, fake_rasa: FakeRasa
) -> None:
    long_text = "My knee has been sore since the weekend. " * 60
    assert len(long_text.strip()) > settings.max_message_chars
    assert text_in(client, long_text).status_code == 200
    assert fake_rasa.received == []
    assert logged(services) == [
        ("in", long_text.strip()),
        ("out", REPLIES[Unreadable.TOO_LONG]),
    ]


def test_a_long_text_is_still_screened_for_red_flags(
    client: TestClient, services: Services, settings: Settings, fake_rasa: FakeRasa
) -> None:
    long_text = "I have crushing chest pain. " + "It started an hour ago. " * 100
    assert len(long_text) > settings.max_message_chars
    text_in(client, long_text)
    said = [text for direction, text in logged(services) if direction == "out"]
    assert said[0] == "Call 911 now."
    assert REPLIES[Unreadable.TOO_LONG] not in said
    assert fake_rasa.received == []


def test_unreadable_messages_are_answered_in_order_with_the_texts_around_them(
    client: TestClient, services: Services, fake_rasa: FakeRasa
) -> None:
    text_in(client, "hello")
    post_signed(client, "/channels/twilio/sms", inbound_form("", NumMedia="1"))
    text_in(client, "are you there")
    assert fake_rasa.texts == ["hello", "are you there"]
    assert [text for _, text in logged(services)][1::2] == [
        "echo: hello",
        REPLIES[Unreadable.ATTACHMENT],
        "echo: are you there",
    ]
