"""The console in a real browser: headless Chromium opens ``/_console`` of a ``callflow serve
--console`` serving the demo flows, places a call through the menu with the mouse and the
keyboard, and reads the transcript, the document panel and the map.

The screenshot is kept as a test artifact (under ``$TEST_ARTIFACTS``, else pytest's
temporary directory); with ``UPDATE_SCREENSHOTS=1`` it also replaces
``docs/images/console.png``, the picture README.md and docs/console.md show, so an ordinary
test run leaves the tree as it found it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from console_browser import chromium
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

if TYPE_CHECKING:
    from conftest import Server, ServerFactory

__all__ = ["chromium"]  # the fixture, imported to be found

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOT = ROOT / "docs" / "images" / "console.png"
WAIT_S = 60.0
"""The longest a step may take before the test fails (a loaded machine is slow)."""
MONDAY_MORNING = "2026-12-07T10:00"
"""Within the demo line's business hours, so the menu is offered."""


def wait_for(driver: webdriver.Chrome, what: str, script: str) -> object:
    """Wait until the JavaScript expression ``script`` is truthy; return its value."""
    result = WebDriverWait(driver, WAIT_S, poll_frequency=0.1).until(
        lambda d: d.execute_script(f"return {script};"),
        message=f"waiting for {what}",
    )
    return result


def status(driver: webdriver.Chrome) -> str:
    return str(driver.find_element(By.ID, "status").text)


def click_key(driver: webdriver.Chrome, key: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f'#keypad button[data-key="{key}"]').click()


def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get("TEST_ARTIFACTS")
    directory = Path(wanted) if wanted else tmp_path_factory.getbasetemp() / "artifacts"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(scope="module")
def console_server(start_module_server: ServerFactory) -> Server:
    """``callflow serve --console`` of the demo flows, shared by this module's tests."""
    return start_module_server("--console")


def open_console(driver: webdriver.Chrome, server: Server) -> None:
    driver.get(server.base_url + "/_console")
    wait_for(driver, "the page to read the App", "document.body.dataset.ready === 'true'")


def wait_for_status(driver: webdriver.Chrome, start: str) -> None:
    wait_for(
        driver,
        f"the status {start!r}",
        f"document.getElementById('status').textContent.startsWith({start!r})",
    )


def test_a_call_through_the_demo_menu_in_the_browser(
    chromium: webdriver.Chrome,
    console_server: Server,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    driver = chromium
    open_console(driver, console_server)
    assert driver.title == "callflow console"
    assert driver.find_element(By.ID, "to").get_attribute("value") == "+15550100200"
    assert driver.find_element(By.ID, "tz").get_attribute("value") == "UTC"
    wait_for(driver, "the map", "document.getElementById('map').dataset.state")

    # Keyboard only: type the time, Enter places the call.
    when = driver.find_element(By.ID, "at")
    when.send_keys(MONDAY_MORNING)
    when.send_keys(Keys.ENTER)
    wait_for_status(driver, "Listening: press up to 1")
    assert driver.find_element(By.ID, "hangup").is_enabled()
    # Placing the call moved the focus out of the form, to the keypad.
    assert driver.switch_to.active_element.get_attribute("id") == "keypad"
    click_key(driver, "2")  # the mouse: the account balance
    wait_for_status(driver, "Listening: press up to 6")
    for key in "123":
        click_key(driver, key)
    # The keyboard: keys typed anywhere but in a form field go to the keypad.
    driver.switch_to.active_element.send_keys("456")
    wait_for(driver, "the call to end", "document.body.dataset.call === 'ended'")
    assert status(driver) == "Call ended: hangup (balance)."

    transcript = driver.find_element(By.ID, "transcript").text
    for heard in (
        "Thank you for calling Acme support.",
        "For support, press 1. For your account balance, press 2. For our hours, press 3.",
        "pressed 2",
        "Please enter your six digit account number, then press pound.",
        "pressed 123456",
        "The balance of the account ending in 3 4 5 6 is twelve dollars and fifty cents.",
        "Goodbye.",
    ):
        assert heard in transcript
    assert driver.find_element(By.ID, "transcript").get_attribute("aria-live") == "polite"

    documents = driver.find_elements(By.CSS_SELECTOR, "#documents details.document")
    assert [d.get_attribute("data-path") for d in documents] == ["/", "/account/prompt", "/account"]
    last = documents[-1]
    assert last.get_attribute("open") == "true"
    assert "valid" in last.find_element(By.TAG_NAME, "summary").text
    xml = last.find_element(By.CSS_SELECTOR, "pre.xml").text
    assert xml.splitlines()[:2] == ['<?xml version="1.0" encoding="UTF-8"?>', "<Response>"]
    tags = {t.text for t in last.find_elements(By.CSS_SELECTOR, ".x-tag")}
    assert {"Response", "Say", "Hangup"} <= tags
    trace = driver.find_element(By.ID, "trace").text
    assert "Gather attempt 1: pressed '2' -> match (branch '2')" in trace
    assert "Hangup: hangup (balance)" in trace

    map_state = driver.find_element(By.ID, "map").get_attribute("data-state")
    assert map_state == "drawn", driver.find_element(By.ID, "map").text
    # The call ended at the map's "hangup (balance)" node, after the call's start and the
    # three flows it went through, along the edges between them.
    current = driver.find_elements(By.CSS_SELECTOR, "#map svg g.node.cf-current")
    assert [g.find_element(By.TAG_NAME, "text").text for g in current] == ["hangup (balance)"]
    visited = driver.find_elements(By.CSS_SELECTOR, "#map svg g.node.cf-visited text")
    assert {"call to +15550100200", "main", "account_prompt", "account"} <= {
        t.text for t in visited
    }
    taken = driver.find_elements(By.CSS_SELECTOR, "#map svg g.edge.cf-taken")
    assert len(taken) == 4
    assert driver.find_element(By.ID, "map-step").text == "Ended: hangup (balance)"
    assert not driver.find_elements(By.CSS_SELECTOR, "#map script, #map foreignObject")

    logged: list[dict[str, object]] = driver.get_log("browser")  # type: ignore[no-untyped-call]
    errors = [entry for entry in logged if entry["level"] == "SEVERE"]
    assert errors == []

    shot = artifacts(tmp_path_factory) / "console.png"
    assert driver.save_screenshot(str(shot))
    assert shot.read_bytes().startswith(b"\x89PNG")
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)


def test_dial_outcomes_and_a_pause_from_the_keyboard_alone(
    chromium: webdriver.Chrome, console_server: Server
) -> None:
    driver = chromium
    open_console(driver, console_server)
    when = driver.find_element(By.ID, "at")
    when.send_keys(MONDAY_MORNING, Keys.ENTER)
    wait_for_status(driver, "Listening: press up to 1")
    driver.switch_to.active_element.send_keys("1")  # support: the Dial rings
    wait_for_status(driver, "Dial 15550100200 is ringing.")
    # The focus is on the outcomes: Tab to "Busy", Enter.
    assert driver.switch_to.active_element.text == "Answer"
    driver.switch_to.active_element.send_keys(Keys.TAB)
    assert driver.switch_to.active_element.text == "Busy"
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for_status(driver, "Dial desk@acme.sip.opentact.org is ringing.")
    driver.switch_to.active_element.send_keys(Keys.TAB, Keys.TAB)
    assert driver.switch_to.active_element.text == "No answer"
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    # Nobody answered: the voicemail's Pause listens for # (the focus is back on the keypad).
    wait_for_status(driver, "Pause listening: press # to end it early")
    assert driver.switch_to.active_element.get_attribute("id") == "keypad"
    driver.switch_to.active_element.send_keys("#")
    wait_for(driver, "the call to end", "document.body.dataset.call === 'ended'")
    assert status(driver) == "Call ended: hangup (voicemail)."
    transcript = driver.find_element(By.ID, "transcript").text
    for heard in (
        "15550100200: busy",
        "desk@acme.sip.opentact.org: no-answer",
        "Nobody is available.",
        "Please leave a message after the tone, then press pound.",
        "pressed #",
        "Thank you. Goodbye.",
    ):
        assert heard in transcript
    assert not driver.find_element(By.ID, "dial-outcomes").is_displayed()
