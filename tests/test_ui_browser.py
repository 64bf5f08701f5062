"""`autoplug ui` in a real headless Chromium (Debian's chromium and chromium-driver, via Selenium).

The server is the real command over a home of real runs; the browser loads its
pages, clicks a graph's node, watches a run that is still going, and reports
every request it made (its performance log), which must all go to the server.
"""

from __future__ import annotations

import json
import socket
import threading

import pytest
from ui_helpers import (
    FAILING_PLAN,
    RELEASE,
    UiServer,
    chromium_missing,
    extra_missing,
    make_run,
    requested_urls,
    start_browser,
    wait_until,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(extra_missing() is not None, reason=str(extra_missing())),
    pytest.mark.skipif(chromium_missing() is not None, reason=str(chromium_missing())),
]


def document_statuses(driver):
    """The HTTP status of every document the browser received since the last log read."""
    found = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if (
            message["method"] == "Network.responseReceived"
            and message["params"]["type"] == "Document"
        ):
            found.append(
                (message["params"]["response"]["url"], message["params"]["response"]["status"])
            )
    return found


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("ui_browser_home")
    failing = make_run(home, task="How warm is Oslo?")
    picture = make_run(
        home,
        task="Draw a picture",
        steps=[{"id": "draw", "tool": "picture", "args": {}, "output": "image"}],
        answer="Drawn.",
    )
    home.joinpath("ids.json").write_text(
        json.dumps({"failing": failing.run_id, "picture": picture.run_id})
    )
    return home


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_browser(tmp_path_factory.mktemp("chromium_profile"))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def node_statuses(driver):
    """Each graph node's step id and status, read in one script (the page may be swapped live)."""
    return driver.execute_script(
        "const found = {};"
        "document.querySelectorAll('svg.plan .node').forEach(n =>"
        " found[n.getAttribute('data-step-id')] = n.getAttribute('data-status'));"
        "return found;"
    )


def run_status(driver):
    return driver.execute_script(
        "const s = document.getElementById('run-status'); return s && s.textContent;"
    )


def test_the_runs_page_lists_a_finished_run(browser, ui_server, ui_ids):
    from selenium.webdriver.common.by import By

    browser.get(ui_server.url)
    row = browser.find_element(By.CSS_SELECTOR, f'tr.run-row[data-run-id="{ui_ids["failing"]}"]')
    assert row.get_attribute("data-status") == "succeeded"
    assert "How warm is Oslo?" in row.text and "scripted:test" in row.text
    row.find_element(By.TAG_NAME, "a").click()
    assert wait_until(lambda: browser.current_url.endswith(f"/runs/{ui_ids['failing']}"))


def test_a_run_page_draws_one_node_per_step_with_its_status(browser, ui_server, ui_ids):
    browser.get(f"{ui_server.base}/runs/{ui_ids['failing']}")
    assert node_statuses(browser) == {"oslo": "succeeded", "bergen": "succeeded", "boom": "failed"}
    edges = browser.find_elements("css selector", "svg.plan path.edge")
    assert len(edges) == 2


def test_clicking_a_failed_step_shows_its_error(browser, ui_server, ui_ids):
    from selenium.webdriver.common.by import By

    browser.get(f"{ui_server.base}/runs/{ui_ids['failing']}")
    failed = browser.find_element(By.CSS_SELECTOR, 'svg.plan .node[data-step-id="boom"]')
    detail = browser.find_element(By.ID, f"step-{failed.get_attribute('data-step')}")
    assert not detail.is_displayed()
    failed.click()
    assert wait_until(detail.is_displayed)
    assert "the barometer broke" in detail.text
    assert "explode" in detail.text and "failed" in detail.text
    oslo = browser.find_element(By.CSS_SELECTOR, 'svg.plan .node[data-step-id="oslo"]')
    assert not browser.find_element(By.ID, f"step-{oslo.get_attribute('data-step')}").is_displayed()


def test_an_image_asset_is_previewed(browser, ui_server, ui_ids):
    from selenium.webdriver.common.by import By

    browser.get(f"{ui_server.base}/runs/{ui_ids['picture']}")
    image = browser.find_element(By.CSS_SELECTOR, "img.preview")
    assert wait_until(
        lambda: browser.execute_script("return arguments[0].naturalWidth", image) == 1
    )


def test_a_running_run_updates_on_the_page_without_a_reload(browser, ui_server, home):
    from selenium.webdriver.common.by import By

    RELEASE.clear()
    plan = [
        {"id": "first", "tool": "fetch", "args": {"city": "Oslo"}, "output": "weather"},
        {
            "id": "slow",
            "tool": "wait_here",
            "args": {"seconds": 60},
            "output": "done",
            "inputs": ["weather"],
        },
    ]
    results = []
    worker = threading.Thread(
        target=lambda: results.append(make_run(home, task="A run still going", steps=plan)),
        daemon=True,
    )

    def run_folders():
        return {p for p in (home / "runs").iterdir() if not p.name.startswith(".")}

    runs_before = run_folders()
    worker.start()
    try:
        new = wait_until(lambda: run_folders() - runs_before)
        (folder,) = new
        assert wait_until(
            lambda: (
                '"step_started"' in folder.joinpath("trace.jsonl").read_text()
                and '"slow"' in folder.joinpath("trace.jsonl").read_text()
            )
        )
        browser.get(f"{ui_server.base}/runs/{folder.name}")
        assert run_status(browser) == "running"
        assert node_statuses(browser) == {"first": "succeeded", "slow": "running"}
        browser.execute_script("window.notReloaded = 42;")
    finally:
        RELEASE.set()
    worker.join(30)
    assert results and results[0].status == "succeeded"
    assert wait_until(lambda: node_statuses(browser).get("slow") == "succeeded", timeout=20)
    assert wait_until(lambda: run_status(browser) == "succeeded")
    assert browser.execute_script("return window.notReloaded") == 42
    assert "Mild." in browser.find_element(By.ID, "answer").text


def test_no_request_leaves_the_servers_origin(browser, ui_server, ui_ids):
    requested_urls(browser)  # drop what earlier tests loaded
    for path in (
        "/runs",
        f"/runs/{ui_ids['failing']}",
        f"/runs/{ui_ids['picture']}",
        "/memory?q=Oslo",
    ):
        browser.get(ui_server.base + path)
    entries = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    urls = requested_urls(browser)
    assert any(u.endswith("/static/ui.css") for u in urls)
    assert any("/assets/image" in u for u in urls)
    foreign = [u for u in [*urls, *entries] if not u.startswith(ui_server.base + "/")]
    assert foreign == []


def _alias_works():
    try:
        with socket.create_server(("127.0.0.2", 0)):
            return True
    except OSError:
        return False


def test_a_browser_without_the_token_gets_403_on_another_address(home, ui_ids, tmp_path):
    if not _alias_works():
        pytest.skip("127.0.0.2 cannot be bound here")
    from selenium.webdriver.common.by import By

    with UiServer(home, "--host", "127.0.0.2") as running:
        driver = start_browser(tmp_path / "profile")
        try:
            driver.get(f"{running.base}/runs")
            assert (f"{running.base}/runs", 403) in document_statuses(driver)
            assert "needs the token" in driver.find_element(By.TAG_NAME, "body").text
            driver.get(running.url)  # the printed URL, with ?token=
            assert driver.find_elements(By.CSS_SELECTOR, "tr.run-row")
            driver.get(f"{running.base}/runs/{ui_ids['failing']}")  # no token: the cookie
            assert (f"{running.base}/runs/{ui_ids['failing']}", 200) in document_statuses(driver)
            assert len(node_statuses(driver)) == len(FAILING_PLAN)
        finally:
            driver.quit()
