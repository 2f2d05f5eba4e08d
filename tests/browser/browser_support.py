"""What the browser tests share: the started service, screenshots."""

import logging
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "var" / "screenshots"
TOKEN = "browser-test-token"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Server:
    base_url: str
    folder: Path

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)


def screenshot(page: Page, name: str) -> Path:
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    log.info("screenshot: %s", path)
    return path
