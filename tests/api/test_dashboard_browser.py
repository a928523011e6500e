"""The dashboard in a real headless Chromium (Debian's `chromium` + `chromium-driver`, driven
by Selenium; never a browser download): seeds pushed through the API, one story with the
developments of 002 and 004 highlighted, a "not new" and a merge performed.

Screenshots go to the test's tmp dir; with SAVE_SCREENSHOTS=docs/screenshots they are also
copied there (how the README's images are made).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.api.test_api import _post_seeds
from tests.conftest import SEEDS

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="no chromium/chromedriver: `apt-get install -y chromium chromium-driver` "
    "(scripts/setup.sh does it when missing)",
)


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # given explicitly: Selenium never downloads a browser
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1000",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(
        service=webdriver.ChromeService(executable_path=DRIVER), options=options
    )
    yield driver
    driver.quit()


def _wait(condition, timeout_s: float = 15.0):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = condition()
        except Exception:  # the page is still rendering: DOM nodes come and go
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the dashboard")
        time.sleep(0.1)


def _shot(driver, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    driver.save_screenshot(str(path))
    if target := os.environ.get("SAVE_SCREENSHOTS"):
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / name)


@pytest.mark.timeout(120)
def test_dashboard_shows_story_and_operator_actions_work(serve, browser, tmp_path):
    from selenium.webdriver.common.by import By

    # Given a server (reads open, writes with the token) and the seeds pushed through the API
    api = serve(api_open_reads=1)
    browser.get(api.url + "/")
    browser.find_element(By.ID, "token").send_keys(api.auth()["Authorization"][7:])
    browser.find_element(By.ID, "save-token").click()
    results = _post_seeds(api)
    story_id = results[0]["story_id"]
    seed = {p.name[:3]: r for p, r in zip(SEEDS, results, strict=True)}
    # Then the live list shows one story without a reload
    rows = _wait(lambda: browser.find_elements(By.CSS_SELECTOR, "#stories tbody tr[data-story-id]"))
    assert [r.get_attribute("data-story-id") for r in rows] == [story_id]
    _shot(browser, tmp_path, "dashboard-stories.png")

    # When the story is opened: the timeline, with 002's and 004's new facts highlighted
    rows[0].find_element(By.TAG_NAME, "a").click()
    items = _wait(lambda: browser.find_elements(By.CSS_SELECTOR, "#timeline > li"))
    assert len(items) == 5
    marks = {}
    for key in ("002", "004"):
        li = browser.find_element(
            By.CSS_SELECTOR, f'li[data-article-id="{seed[key]["article_id"]}"]'
        )
        assert "development" in li.get_attribute("class")
        marks[key] = [m.text for m in li.find_elements(By.TAG_NAME, "mark")]
        assert "lacking in earlier articles" in li.text
    assert "Dolmabahce Palace" in marks["002"] and "0745 GMT" in marks["002"]
    assert any("Anton" in m for m in marks["002"]) and any("Umerov" in m for m in marks["002"])
    assert any("Galuzin" in m for m in marks["004"])
    _shot(browser, tmp_path, "dashboard-story.png")

    # When 001's development is marked "not new"
    li = browser.find_element(By.CSS_SELECTOR, f'li[data-article-id="{seed["001"]["article_id"]}"]')
    li.find_element(By.CSS_SELECTOR, "button.not-new").click()
    _wait(
        lambda: (
            "duplicate"
            in browser.find_element(
                By.CSS_SELECTOR, f'li[data-article-id="{seed["001"]["article_id"]}"]'
            ).get_attribute("class")
        )
    )
    assert api.client.get("/v1/operator/actions").json()["actions"][0]["action"] == "not_new"

    # When an unrelated story arrives and the operator merges it into the seed story
    other = api.client.post(
        "/v1/articles",
        headers=api.auth(),
        json={
            "text": "The city council of Springfield approved a new budget of 12 million dollars "
            "for road repairs on Tuesday, mayor Jane Holloway said in a statement."
        },
    )
    assert other.status_code == 201, other.text
    browser.get(api.url + "/")
    listed = lambda: browser.find_elements(By.CSS_SELECTOR, "#stories tbody tr[data-story-id]")  # noqa: E731
    _wait(lambda: len(listed()) == 2)
    # the filter box narrows the list as it is typed: only the council story holds "council"
    box = browser.find_element(By.NAME, "q")
    box.send_keys("COUNCIL")
    _wait(
        lambda: [r.get_attribute("data-story-id") for r in listed()] == [other.json()["story_id"]]
    )
    box.clear()
    box.send_keys(" ")  # an input event: the list follows the now empty filter
    _wait(lambda: len(listed()) == 2)
    browser.find_element(By.NAME, "source").send_keys(other.json()["story_id"])
    browser.find_element(By.NAME, "target").send_keys(story_id)
    browser.find_element(By.CSS_SELECTOR, "#merge button").click()
    _wait(lambda: "merged" in browser.find_element(By.ID, "status").text)
    rows = _wait(
        lambda: (
            [r for r in browser.find_elements(By.CSS_SELECTOR, "#stories tbody tr[data-story-id]")]
            if len(browser.find_elements(By.CSS_SELECTOR, "#stories tbody tr[data-story-id]")) == 1
            else None
        )
    )
    assert rows[0].get_attribute("data-story-id") == story_id
    _shot(browser, tmp_path, "dashboard-merged.png")
