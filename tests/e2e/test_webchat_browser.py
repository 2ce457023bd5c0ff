"""The web chat in headless Chromium (Debian's chromium + chromium-driver) against the stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from scripts.stack import StackConfig
from tests.utils.browser import headless_chromium

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture(params=[(1280, 900), (390, 844)], ids=["desktop", "phone"])
def browser(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WebDriver]:
    driver = headless_chromium(tmp_path / "profile", *request.param)
    yield driver
    driver.quit()


def messages(driver: WebDriver) -> list[tuple[str, str]]:
    return [
        (item.get_attribute("data-author") or "", item.text)
        for item in driver.find_elements(By.CSS_SELECTOR, "#log li")
    ]


def bot_replies(driver: WebDriver) -> int:
    return sum(1 for author, _ in messages(driver) if author == "bot")


def send(driver: WebDriver, text: str) -> None:
    box = WebDriverWait(driver, 30).until(ec.element_to_be_clickable((By.ID, "text")))
    box.send_keys(text)
    driver.find_element(By.ID, "send").click()


def test_hello_gets_a_reply_and_survives_a_reload(browser: WebDriver, stack: StackConfig) -> None:
    browser.get(stack.backend_url + "/")
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return document.getElementById('status').hidden")
    )
    send(browser, "hello")
    WebDriverWait(browser, 60).until(lambda d: bot_replies(d) >= 1)
    before = messages(browser)
    assert before[0] == ("patient", "hello")
    assert "assistant" in before[1][1].lower()

    browser.refresh()
    WebDriverWait(browser, 30).until(lambda d: len(messages(d)) >= len(before))
    assert messages(browser) == before


def test_buttons_are_shown_as_buttons_and_a_press_continues(
    browser: WebDriver, stack: StackConfig
) -> None:
    browser.get(stack.backend_url + "/")
    send(browser, "I've had a headache since yesterday")  # triage asks with answer buttons
    WebDriverWait(browser, 60).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#log .msg__buttons button")
    )
    buttons = browser.find_elements(By.CSS_SELECTOR, "#log .msg__buttons button")
    assert [b.text for b in buttons] == ["Yes", "No", "Not sure"]
    replies = bot_replies(browser)
    buttons[1].click()
    WebDriverWait(browser, 60).until(lambda d: bot_replies(d) > replies)
    assert messages(browser)[replies + 1] == ("patient", "No")
    assert all(b.get_attribute("disabled") for b in buttons)  # an answered question is closed
