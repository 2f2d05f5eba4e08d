"""The dashboard with API keys (ADL_AUTH=keys): the key is asked once per browser session and
sent as a bearer token by every request, the event stream included; a refused key is asked for
again with the API's reason. No worker runs here, so the search stays queued until it is
cancelled from its page."""

import pytest
from browser_support import Server, screenshot
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.timeout(120)
SPEC = {"dataset": {"kind": "synthetic"}, "training": {"epochs": 2, "arch_start_epoch": 1}}


def test_the_key_is_asked_once_and_sent_with_every_request(
    page: Page, keyed_service: Server
) -> None:
    with keyed_service.client() as api:
        search_id = api.post("/searches", json=SPEC).json()["id"]
    page.goto(keyed_service.base_url)
    dialog = page.locator("#key-dialog")
    expect(dialog.locator(".key-refused")).to_be_hidden()  # no key sent yet: nothing refused
    dialog.locator("input").fill("adl_not-the-key")
    dialog.get_by_role("button", name="Use this key").click()
    expect(dialog.locator(".key-refused")).to_be_visible()
    expect(dialog.locator(".key-refused")).to_contain_text("unknown API key")
    screenshot(page, "8-api-key-refused")
    dialog.locator("input").fill(keyed_service.key or "")
    dialog.get_by_role("button", name="Use this key").click()
    row = page.locator(f'tr[data-search-id="{search_id}"]')
    expect(row).to_contain_text("queued")
    expect(page.locator("#key-status")).to_be_visible()
    row.get_by_role("link").click()
    expect(page.locator("body")).to_have_attribute("data-state", "queued")  # from the stream
    page.get_by_role("button", name="Cancel search").click()
    expect(page.locator("body")).to_have_attribute("data-state", "cancelled")
    expect(page.locator("#key-dialog")).to_have_count(0)  # this page never had to ask
