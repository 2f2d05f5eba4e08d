"""The dashboard in Chromium against the live service. The tests share one service, one tiny
search A (submitted through the form, runs to success) and one long search B (cancelled from its
page once it runs); they run in file order."""

import time
from typing import Any

import httpx
import pytest
from browser_support import Server, screenshot
from playwright.sync_api import Page, Route, expect
from service_fixtures import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
TINY_FORM = {
    "dataset.kind": "synthetic",
    "dataset.num_classes": "3",
    "dataset.num_samples": "8",
    "dataset.image_size": "48",
    "search_space.layers": "2",
    "search_space.filter_multiplier": "2",
    "training.epochs": "2",
    "training.arch_start_epoch": "1",
    "training.crop_size": "32",
    "resources.checkpoint_activations": "true",  # a checkbox: the search runs checkpointed
}
LONG = {
    "dataset": {"kind": "synthetic", "num_classes": 3, "num_samples": 8, "image_size": 48},
    "search_space": {"layers": 2, "filter_multiplier": 2},
    "training": {"epochs": 30, "arch_start_epoch": 1, "crop_size": 32},
}
FINISHED = 180_000  # ms: the tiny search on a busy 2-core machine, with room to spare
ids: dict[str, str] = {}


@pytest.fixture(scope="module")
def api(service: Server) -> httpx.Client:
    return service.client()


def wait_for_state(api: httpx.Client, search_id: str, state: str) -> None:
    """For a test that needs a search finished, whether or not the test before it got there."""

    def reached() -> bool:
        return api.get(f"/searches/{search_id}").json()["state"] == state

    wait_until(reached, FINISHED / 1000, f"search {search_id} to be {state}")


def fill_form(page: Page, values: dict[str, str]) -> None:
    for path, value in values.items():
        control = page.locator(f'[name="{path}"]')
        if control.evaluate("node => node.tagName") == "SELECT":
            control.select_option(value)
        elif control.get_attribute("type") == "checkbox":
            control.set_checked(value == "true")
        else:
            control.fill(value)


def test_an_invalid_form_shows_the_error_next_to_its_field(page: Page, service: Server) -> None:
    page.goto(service.base_url)
    expect(page.locator('[name="training.epochs"]')).to_have_value("40")  # the API's default
    fill_form(page, {"training.batch_size": "1", "search_space.layers": "two"})
    page.get_by_role("button", name="Submit search").click()
    batch_error = page.locator('[data-error-for="training.batch_size"]')
    expect(batch_error).to_contain_text("greater than or equal to 2")
    expect(page.locator('[data-error-for="search_space.layers"]')).to_contain_text("integer")
    expect(page.locator('.field[data-field="training.batch_size"]')).to_have_class("field invalid")
    screenshot(page, "1-form-field-errors")


def test_the_searches_page_lists_a_submitted_search(
    page: Page, service: Server, api: httpx.Client
) -> None:
    page.goto(service.base_url)
    fill_form(page, TINY_FORM)
    page.get_by_role("button", name="Submit search").click()
    link = page.locator("#submitted a")
    ids["A"] = link.get_attribute("href").rsplit("/", 1)[-1]
    response = api.post("/searches", json=LONG)  # B queues behind A on the single worker
    ids["B"] = response.json()["id"]
    row = page.locator(f'tr[data-search-id="{ids["A"]}"]')
    expect(row).to_contain_text("synthetic · 2 layers · F=2 · 2 epochs")
    expect(page.locator(f'tr[data-search-id="{ids["B"]}"]')).to_be_visible()
    spec = api.get(f"/searches/{ids['A']}").json()["spec"]
    assert spec["dataset"]["num_samples"] == 8
    assert spec["resources"]["checkpoint_activations"] is True  # a JSON boolean, not "true"
    expect(page.locator("#key-dialog")).to_have_count(0)  # ADL_AUTH=off: no key is asked for
    expect(page.locator("#key-status")).to_be_hidden()
    screenshot(page, "2-searches-list")


def test_the_search_page_updates_live_until_it_succeeds(page: Page, service: Server) -> None:
    page.goto(f"{service.base_url}/ui/searches/{ids['A']}")
    expect(page.locator("body")).to_have_attribute("data-state", "running", timeout=FINISHED)
    expect(page.locator("#progress-text")).to_contain_text("epoch ", timeout=FINISHED)
    screenshot(page, "3-search-running")
    expect(page.locator("body")).to_have_attribute("data-state", "succeeded", timeout=FINISHED)
    expect(page.locator("#miou-chart polyline")).to_have_attribute("data-points", "2")
    assert int(page.locator('#loss-chart [data-series="weights"]').get_attribute("data-points"))
    expect(page.locator("body")).to_have_attribute("data-architecture-epoch", "2")
    expect(page.locator("#unchanged")).to_contain_text("unchanged since epoch")
    expect(page.locator("#genotype-download")).to_be_visible()
    expect(page.locator("#checkpoints a.checkpoint")).to_have_count(2)
    expect(page.locator("#cancel")).to_be_hidden()
    screenshot(page, "4-search-succeeded")


def test_the_trellis_marks_the_decoded_path(page: Page, service: Server, api: httpx.Client) -> None:
    wait_for_state(api, ids["A"], "succeeded")
    architecture = api.get(f"/searches/{ids['A']}/architecture").json()
    path = architecture["genotype"]["network_path"]
    page.goto(f"{service.base_url}/ui/searches/{ids['A']}")
    expect(page.locator("body")).to_have_attribute("data-architecture-epoch", "2")
    marked = page.locator("#trellis circle.on-path")
    nodes = [
        (int(n.get_attribute("data-layer")), int(n.get_attribute("data-level")))
        for n in marked.all()
    ]
    assert sorted(nodes) == [(-1, 0), *enumerate(path)]
    path_edges = page.locator("#trellis line.path-edge").all()
    drawn = [
        (int(e.get_attribute("data-from")), int(e.get_attribute("data-to"))) for e in path_edges
    ]
    assert drawn == list(zip([0, *path[:-1]], path, strict=True))
    assert_beta_widths(page, architecture["betas"])
    blocks = len(architecture["genotype"]["cell"])
    expect(page.locator("#cell path.cell-edge")).to_have_count(2 * blocks)
    expect(page.locator("#heatmap rect.heat")).to_have_count(len(architecture["alphas"]) * 8)
    expect(page.locator("#heatmap rect.heat.picked")).to_have_count(2 * blocks)
    page.locator("#epoch-slider").fill("1")
    expect(page.locator("body")).to_have_attribute("data-architecture-epoch", "1")
    expect(page.locator("#epoch-label")).to_have_text("1 of 2")
    screenshot(page, "5-architecture-epoch-1")


def assert_beta_widths(page: Page, betas: list[Any]) -> None:
    """Every valid edge is drawn (7 for two layers), its width growing with its beta."""
    edges = page.locator("#trellis line.edge").all()
    assert len(edges) == 7
    for edge in edges:
        layer, source, target = (
            int(edge.get_attribute(f"data-{k}")) for k in ("layer", "from", "to")
        )
        beta = betas[layer][source][target - source + 1]
        assert float(edge.get_attribute("data-beta")) == pytest.approx(beta, abs=1e-4)
        assert float(edge.get_attribute("stroke-width")) == pytest.approx(0.5 + 6 * beta, abs=0.01)


def test_a_running_search_is_paused_resumed_and_cancelled_from_its_page(
    page: Page, service: Server, api: httpx.Client
) -> None:
    page.goto(f"{service.base_url}/ui/searches/{ids['B']}")
    body = page.locator("body")
    expect(body).to_have_attribute("data-state", "running", timeout=FINISHED)
    expect(page.locator("#progress-text")).to_contain_text("step", timeout=FINISHED)
    page.get_by_role("button", name="Pause").click()
    expect(body).to_have_attribute("data-state", "paused", timeout=FINISHED)
    expect(page.locator("#pause")).to_be_hidden()
    # the answer to Resume ("queued") arrives only after the stream said "running": the page
    # must keep the newer state (it used to show "queued" to the end when a worker was quick)
    resume_url, answered = f"**/searches/{ids['B']}/resume", []
    page.route(resume_url, answer_once_running(api, ids["B"], answered))
    page.get_by_role("button", name="Resume").click()
    expect(body).to_have_attribute("data-state", "running", timeout=FINISHED)
    page.wait_for_timeout(1000)  # the held answer reaches the page meanwhile
    assert answered == ["queued"]
    expect(body).to_have_attribute("data-state", "running", timeout=1000)
    expect(page.locator("#resume")).to_be_hidden()
    page.unroute(resume_url)
    assert api.get(f"/searches/{ids['B']}").json()["attempts"] == 2  # claimed again
    page.get_by_role("button", name="Cancel search").click()
    expect(page.locator("body")).to_have_attribute("data-state", "cancelled", timeout=FINISHED)
    expect(page.locator("#cancel")).to_be_hidden()
    assert api.get(f"/searches/{ids['B']}").json()["state"] == "cancelled"
    screenshot(page, "6-search-cancelled")


def answer_once_running(api: httpx.Client, search_id: str, answered: list[str]):
    """A route handler: the request goes through, its answer is held back until a worker runs
    the search and the event stream has had a second to tell the page; `answered` gets the
    state the answer gave."""

    def handle(route: Route) -> None:
        response = route.fetch()
        wait_for_state(api, search_id, "running")
        time.sleep(1.0)
        route.fulfill(response=response)
        answered.append(response.json()["state"])

    return handle


def test_the_searches_page_filters_by_state(page: Page, service: Server, api: httpx.Client) -> None:
    wait_for_state(api, ids["A"], "succeeded")
    wait_for_state(api, ids["B"], "cancelled")
    page.goto(service.base_url)
    page.locator("#state-filter").select_option("cancelled")
    expect(page.locator(f'tr[data-search-id="{ids["B"]}"]')).to_be_visible()
    expect(page.locator(f'tr[data-search-id="{ids["A"]}"]')).to_have_count(0)
    page.locator("#state-filter").select_option("succeeded")
    expect(page.locator(f'tr[data-search-id="{ids["A"]}"]')).to_contain_text("100%")
    expect(page.locator(f'tr[data-search-id="{ids["B"]}"]')).to_have_count(0)
    page.locator("#state-filter").select_option("")
    screenshot(page, "7-searches-all")
