"""The report in a real headless Chromium (selenium + chromedriver): it loads from disk with no
console error and no network request, shows the summary matrix and the plots, prints, and leaves
a screenshot.

Needs the Debian packages ``chromium`` and ``chromium-driver`` and ``pip install selenium``;
skips with the reason where they are missing, unless ``INITSPEC_REQUIRE`` lists ``chromium``
(then it fails).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import pytest

from initspec.reports import write_report

pytestmark = pytest.mark.browser

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
#: Flags that keep Chromium from any background traffic (plus a fresh profile per test).
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
                  "--disable-extensions", "--window-size=1366,900", "--hide-scrollbars")
#: URL schemes a self-contained page may load from.
LOCAL_SCHEMES = ("file:", "data:", "about:")
PAGE_LOAD_TIMEOUT_S = 60
#: Set to a folder to keep the screenshots (CI artifacts).
SCREENSHOT_DIR_ENV = "INITSPEC_REPORT_SCREENSHOTS"


def _required() -> bool:
    return "chromium" in {n.strip() for n in os.environ.get("INITSPEC_REQUIRE", "").split(",")}


def _unavailable(reason: str) -> None:
    if _required():
        pytest.fail(f"Chromium is required (INITSPEC_REQUIRE) but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as e:
        _unavailable(f"selenium is not installed ({e}); pip install selenium")
    browser = next((p for p in map(shutil.which, BROWSERS) if p), None)
    chromedriver = shutil.which("chromedriver")
    if browser is None or chromedriver is None:
        _unavailable("Chromium or chromedriver not found; apt-get install -y chromium chromium-driver")
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    try:
        drv = webdriver.Chrome(service=Service(executable_path=chromedriver), options=opts)
    except Exception as e:  # noqa: BLE001 - any launch failure means no browser here
        _unavailable(f"Chromium failed to start: {type(e).__name__}: {str(e).splitlines()[0]}")
    drv.set_page_load_timeout(PAGE_LOAD_TIMEOUT_S)
    yield drv
    drv.quit()


@pytest.fixture(scope="module")
def loaded(driver, tmp_path_factory, _small_doc):
    """The small fake report opened from disk; returns (driver, browser log, requested URLs)."""
    from copy import deepcopy

    from .fake_results import make_results

    folder = tmp_path_factory.mktemp("report")
    base = make_results(device="gpu", unavailable=(), seed=5)
    path = write_report(deepcopy(_small_doc), folder / "report.html", against=base).path
    driver.get("about:blank")  # leave the new-tab page, then drop its log entries
    driver.get_log("performance")
    driver.get_log("browser")
    driver.get(Path(path).as_uri())
    driver.execute_script("return document.readyState")
    console = driver.get_log("browser")
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return driver, console, urls, folder


def test_no_console_errors(loaded):
    _, console, _, _ = loaded
    errors = [e for e in console if e.get("level") in ("SEVERE", "ERROR")]
    assert errors == []


def test_no_network_requests(loaded):
    _, _, urls, _ = loaded
    assert urls, "the performance log saw no request at all (the page itself should be one)"
    remote = [u for u in urls if not u.startswith(LOCAL_SCHEMES)]
    assert remote == []


def test_matrix_and_plots_render(loaded):
    from selenium.webdriver.common.by import By

    driver, _, _, _ = loaded
    matrix = driver.find_element(By.ID, "summary-matrix")
    assert matrix.is_displayed()
    cells = matrix.find_elements(By.CSS_SELECTOR, "td.cell")
    assert len(cells) >= 4 * 4
    assert {c.get_attribute("data-verdict") for c in cells} >= {"pass", "fail", "unavailable"}
    sizes = driver.execute_script(
        "return Array.from(document.querySelectorAll('figure svg.plot'))"
        ".map(s => {const r = s.getBoundingClientRect(); return [r.width, r.height];});")
    assert sizes and all(w > 300 and h > 80 for w, h in sizes), sizes[:3]
    assert driver.find_element(By.ID, "changes").is_displayed()


def test_screenshot_and_print(loaded):
    driver, _, _, folder = loaded
    shot = folder / "report.png"
    assert driver.save_screenshot(str(shot))
    full = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    full_png = folder / "report-full.png"
    full_png.write_bytes(base64.b64decode(full["data"]))
    assert full_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pdf = base64.b64decode(driver.execute_cdp_cmd("Page.printToPDF", {"printBackground": True})["data"])
    assert pdf[:5] == b"%PDF-"
    keep = os.environ.get(SCREENSHOT_DIR_ENV)
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for f in (shot, full_png):
            shutil.copy(f, Path(keep) / f.name)
        (Path(keep) / "report.pdf").write_bytes(pdf)
