"""action_offer_help and action_contact_clinic, with a local double of the backend API."""

from __future__ import annotations

import pytest
from aiohttp import web
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.backend_client import BackendClient
from bot.actions.help import ActionContactClinic, ActionOfferHelp
from bot.actions.settings import ActionSettings
from tests.utils.local_http import serve

TOKEN = "test-service-token-0123456789"


async def start_backend_double(handler: web.Handler) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_get("/internal/clinic", handler)
    runner, url = await serve(app)
    return runner, url


async def clinic(request: web.Request) -> web.Response:
    if request.headers.get("Authorization") != f"Bearer {TOKEN}":
        return web.json_response({"detail": "forbidden"}, status=403)
    return web.json_response(
        {"name": "Riverside", "phone": "+1 555-0100", "hours": "Mon-Fri", "emergency_number": "999"}
    )


async def test_offer_help_says_what_it_can_do_and_offers_a_person(
    dispatcher: CollectingDispatcher, unclear_message: Tracker
) -> None:
    events = await ActionOfferHelp().run(dispatcher, unclear_message, {})
    assert events == []
    (message,) = dispatcher.messages
    assert "appointments" in message["text"] and "person" in message["text"]
    assert [b["payload"] for b in message["buttons"]] == ["/affirm", "/deny"]


async def test_contact_clinic_reads_the_clinic_from_the_backend_with_the_token(
    dispatcher: CollectingDispatcher, patient_accepts_a_person: Tracker
) -> None:
    runner, url = await start_backend_double(clinic)
    try:
        action = ActionContactClinic(BackendClient(ActionSettings(url, TOKEN)))
        await action.run(dispatcher, patient_accepts_a_person, {})
    finally:
        await runner.cleanup()
    (message,) = dispatcher.messages
    assert "+1 555-0100" in message["text"] and "999" in message["text"]


async def test_contact_clinic_apologises_when_the_backend_is_down(
    dispatcher: CollectingDispatcher, patient_accepts_a_person: Tracker
) -> None:
    runner, url = await start_backend_double(clinic)
    await runner.cleanup()  # nothing listens any more: the backend is down
    action = ActionContactClinic(BackendClient(ActionSettings(url, TOKEN, timeout_s=1)))
    await action.run(dispatcher, patient_accepts_a_person, {})
    (message,) = dispatcher.messages
    assert "can't look up" in message["text"] and "emergency" in message["text"]


async def test_contact_clinic_apologises_when_the_token_is_refused(
    dispatcher: CollectingDispatcher, patient_accepts_a_person: Tracker
) -> None:
    runner, url = await start_backend_double(clinic)
    try:
        action = ActionContactClinic(BackendClient(ActionSettings(url, "wrong-token")))
        await action.run(dispatcher, patient_accepts_a_person, {})
    finally:
        await runner.cleanup()
    (message,) = dispatcher.messages
    assert "can't look up" in message["text"]


def test_settings_refuse_a_placeholder_token_outside_development(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENV", "production")
    monkeypatch.setenv("SERVICE_TOKEN", "dev-service-token")
    with pytest.raises(RuntimeError, match="SERVICE_TOKEN"):
        ActionSettings.from_env()
