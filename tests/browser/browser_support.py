"""What the browser tests share: the started service, screenshots."""

import logging
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "var" / "screenshots"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Server:
    base_url: str
    folder: Path
    key: str | None = None  # an API key of the tenant `browser`, when it runs with keys

    def client(self) -> httpx.Client:
        """A client that sends the server's key, if it has one."""
        headers = {"authorization": f"Bearer {self.key}"} if self.key else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)


def screenshot(page: Page, name: str) -> Path:
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    log.info("screenshot: %s", path)
    return path
