"""The web chat as a shopper uses it: headless Chromium types and clicks through a return.

Screenshots go to test-artifacts/webchat/ (gitignored); the path is printed.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable, Tuple

import pytest

from tests.channels.conftest import ARTIFACTS, ChannelStack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
JANE = "jane.doe@example.com"
TIMEOUT_MS = 60_000


@pytest.fixture
def browser_context(tmp_path: Path):
    if not CHROMIUM.exists():
        pytest.fail("Chromium is not installed at /usr/bin/chromium: `apt-get install -y chromium` "
                    "(.ci/run does this); the web chat's browser test needs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "chromium-profile"),  # a fresh profile for every test
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1100, "height": 760},
        )
        try:
            yield context
        finally:
            context.close()


def open_chat(page, webchat_url: str) -> Tuple[Any, Callable[[str], None]]:
    """Opens the widget on the shop page; returns its message list and a function that types and sends."""
    page.goto(webchat_url)
    page.get_by_role("button", name="Open chat").click()
    page.locator(".sa-status", has_text="Online").wait_for()

    def type_message(text: str) -> None:
        page.get_by_label("Message").fill(text)
        page.get_by_role("button", name="Send").click()

    return page.locator(".sa-messages"), type_message


def test_a_shopper_completes_a_return_in_the_web_chat_and_finds_it_after_a_reload(
    shop: ChannelStack, webchat_url: str, browser_context
) -> None:
    shots = ARTIFACTS / "webchat"
    shots.mkdir(parents=True, exist_ok=True)
    page = browser_context.new_page()
    print(f"\nbrowser: {CHROMIUM} ({page.evaluate('navigator.userAgent')})")
    page.set_default_timeout(TIMEOUT_MS)
    # how a shop passes a logged-in shopper's signed token (set before the widget loads)
    page.add_init_script('window.ShopAssistant = {customerToken: "browser.test.token"};')
    messages, type_message = open_chat(page, webchat_url)
    type_message("I want to return the blue jacket from order #4521")
    messages.locator(".sa-bot", has_text="email").wait_for()
    type_message(JANE)
    page.get_by_role("button", name="Wrong size").wait_for()
    page.screenshot(path=str(shots / "1-reasons.png"))
    page.get_by_role("button", name="Wrong size").click()
    messages.locator(".sa-user", has_text="Wrong size").wait_for()  # the title is shown as the shopper's message
    page.get_by_role("button", name="Store credit").click()
    messages.locator(".sa-bot", has_text="Shall I create this return?").wait_for()
    prompt = messages.inner_text()
    for detail in ("#4521", "Blue Denim Jacket (Size M)", "$89.00"):
        assert detail in prompt
    page.get_by_role("button", name="Yes", exact=True).wait_for()
    page.screenshot(path=str(shots / "2-confirmation.png"))
    page.get_by_role("button", name="Yes", exact=True).click()
    messages.locator(".sa-bot", has_text="RMA-").wait_for()
    page.screenshot(path=str(shots / "3-return-created.png"))
    assert len(shop.returns("4521")) == 1
    assert page.get_by_role("button", name="No", exact=True).is_disabled()  # answered buttons are spent

    session_id = page.evaluate("localStorage.getItem('shopAssistant.sessionId')")
    [first, *rest] = shop.user_messages(session_id)
    assert first["text"] == "I want to return the blue jacket from order #4521"
    # the page's login token reaches the channel, which checks it and never stores it (an
    # unsigned one like this verifies nobody)
    assert all("customer_token" not in (m.get("metadata") or {}) for m in [first, *rest])
    assert all("login" not in (m.get("metadata") or {}) for m in [first, *rest])

    page.reload()
    page.locator(".sa-status", has_text="Online").wait_for()
    assert page.locator(".sa-panel").is_visible()  # still open after the reload
    restored = messages.inner_text()
    assert "I want to return the blue jacket from order #4521" in restored and "RMA-" in restored
    assert page.evaluate("localStorage.getItem('shopAssistant.sessionId')") == session_id
    type_message("thanks!")  # the same conversation goes on on the server
    messages.locator(".sa-user", has_text="thanks!").wait_for()
    page.wait_for_function("document.querySelectorAll('.sa-messages .sa-bot').length > 0 && "
                           "!document.querySelector('.sa-typing.sa-visible')")
    assert [m["text"] for m in shop.user_messages(session_id)][-1] == "thanks!"
    page.screenshot(path=str(shots / "4-after-reload.png"))
    if (ARTIFACTS.parent / "docs").is_dir() and __import__("os").environ.get("WEBCHAT_DOCS_SCREENSHOT"):
        shutil.copy(shots / "2-confirmation.png", ARTIFACTS.parent / "docs" / "webchat.png")
    print(f"\nweb chat screenshots: {shots}")


def test_a_person_answers_a_web_chat_from_the_agent_inbox_and_hands_it_back(
    shop: ChannelStack, webchat_url: str, browser_context
) -> None:
    from tests import processes

    shots = ARTIFACTS / "inbox"
    shots.mkdir(parents=True, exist_ok=True)
    shopper = browser_context.new_page()
    shopper.set_default_timeout(TIMEOUT_MS)
    chat, type_message = open_chat(shopper, webchat_url)
    type_message("where is my order 4521?")
    chat.locator(".sa-bot", has_text="email").wait_for()
    type_message(JANE)
    chat.locator(".sa-bot", has_text="delivered").wait_for()
    type_message("I want to speak to a real person")
    chat.locator(".sa-bot", has_text="reference").wait_for()
    type_message("My parcel arrived open and half empty")
    chat.locator(".sa-user", has_text="half empty").wait_for()

    agent = browser_context.new_page()
    agent.set_default_timeout(TIMEOUT_MS)
    agent.goto(f"{shop.rasa_url}/webhooks/inbox/")
    agent.get_by_label("Name").fill(processes.INBOX_STAFF_NAME)
    agent.get_by_label("Password").fill(processes.INBOX_PASSWORD)
    agent.get_by_role("button", name="Log in").click()
    agent.locator("#waiting button", has_text="half empty").click()
    agent.locator("#transcript .customer", has_text="half empty").wait_for()
    agent.locator("#customer", has_text="Jane Doe").wait_for()  # the verified customer and her orders
    agent.locator("#orders", has_text="#4521").wait_for()
    agent.get_by_label("Reply to the customer").fill("I'm so sorry! I'm sending a replacement today.")
    agent.get_by_role("button", name="Send reply").click()
    agent.locator("#reply-status", has_text="Delivered").wait_for()

    chat.locator(".sa-agent", has_text="sending a replacement today").wait_for()  # pushed to the open chat
    shopper.screenshot(path=str(shots / "1-customer-sees-the-agent.png"))
    type_message("thank you so much")
    agent.locator("#transcript .customer", has_text="thank you so much").wait_for()
    agent.screenshot(path=str(shots / "2-inbox.png"))
    agent.get_by_role("button", name="Hand back to the assistant").click()
    chat.locator(".sa-bot", has_text="back with the assistant").wait_for()

    type_message("and where is order 4523?")
    chat.locator(".sa-bot", has_text="UPS").wait_for()  # the bot answers again, still verified
    shopper.screenshot(path=str(shots / "3-back-with-the-bot.png"))
    if (ARTIFACTS.parent / "docs").is_dir() and __import__("os").environ.get("WEBCHAT_DOCS_SCREENSHOT"):
        shutil.copy(shots / "2-inbox.png", ARTIFACTS.parent / "docs" / "inbox.png")
    print(f"\ninbox screenshots: {shots}")
