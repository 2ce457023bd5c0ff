"""The console page in headless Chromium against the backend (Rasa double): sign in, see the
queue, claim, read the transcript, reply (canned reply, edited), see the patient's next message
arrive live, resolve and hand back, sign out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select

from backend.db.models import Conversation
from backend.services import Services
from tests.utils.browser import headless_chromium
from tests.utils.handoffs import PASSWORD, make_clinician
from tests.utils.rest_client import HEADERS as REST_HEADERS

pytestmark = pytest.mark.browser
SERVICE = {"Authorization": "Bearer test-service-token-0123456789"}


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    driver = headless_chromium(tmp_path / "profile")
    yield driver
    driver.quit()


def test_a_clinician_signs_in_claims_reads_and_hands_back(
    backend_url: str, browser: WebDriver, services: Services
) -> None:
    with services.session_factory() as session:
        make_clinician(session)
    with httpx.Client(base_url=backend_url, timeout=10, headers=REST_HEADERS) as api:
        api.post(
            "/channels/rest/webhook",
            json={"sender": "+15550001111", "message": "<b>please</b> a nurse"},
        )
        with services.session_factory() as session:
            cid = session.scalars(select(Conversation.id)).one()
        opened = api.post(
            "/internal/handoffs",
            headers=SERVICE,
            json={"conversation_id": cid, "reason": "patient_request"},
        )
        assert opened.status_code == 201
    wait = WebDriverWait(browser, 20)

    browser.get(backend_url + "/console")
    wait.until(ec.visibility_of_element_located((By.ID, "email"))).send_keys("ann@clinic.example")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "#login-form button").click()
    item = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#queue .item")))
    assert "PATIENT REQUEST" in item.text.upper() and "5550001111" not in browser.page_source
    item.click()
    # A waiting conversation is read once claimed (docs/handoff.md, "Who reads what").
    wait.until(lambda d: "claim this conversation" in d.find_element(By.ID, "transcript").text)
    browser.find_element(By.CSS_SELECTOR, "[data-act=claim]").click()
    wait.until(lambda d: "held by Ann Lee" in d.find_element(By.ID, "detail-meta").text)
    wait.until(lambda d: "<b>please</b> a nurse" in d.find_element(By.ID, "transcript").text)
    assert not browser.find_elements(By.CSS_SELECTOR, "#transcript b")  # shown as text, not HTML

    # A canned reply fills the box; the clinician edits it and sends it to the patient.
    Select(browser.find_element(By.ID, "canned")).select_by_value("greeting")
    reply_box = browser.find_element(By.ID, "reply-text")
    assert "care team" in reply_box.get_attribute("value")
    reply_box.clear()
    reply_box.send_keys("Hello, Ann the nurse here. How can I help?")
    browser.find_element(By.ID, "send-reply").click()
    wait.until(
        lambda d: "clinician: Hello, Ann the nurse" in d.find_element(By.ID, "transcript").text
    )

    # The patient (REST) gets the reply with the answer to their next message, and that
    # message appears in the console live, without a reload.
    with httpx.Client(base_url=backend_url, timeout=10, headers=REST_HEADERS) as api:
        answer = api.post(
            "/channels/rest/webhook", json={"sender": "+15550001111", "message": "my knee hurts"}
        ).json()
    assert [r["text"] for r in answer] == ["Hello, Ann the nurse here. How can I help?"]
    wait.until(lambda d: "patient: my knee hurts" in d.find_element(By.ID, "transcript").text)

    browser.find_element(By.CSS_SELECTOR, "[data-act=resolve-back]").click()
    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "#queue .item"))

    browser.find_element(By.ID, "logout").click()
    wait.until(ec.visibility_of_element_located((By.ID, "email")))
    browser.refresh()
    wait.until(ec.visibility_of_element_located((By.ID, "email")))  # still signed out
