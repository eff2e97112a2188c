"""Report tests: a real headless Chromium (Debian's, driven by Selenium through Debian's
chromedriver: no browser download) opens the HTML; poppler's pdftoppm/pdftotext read the PDF.
.ci/system-packages installs all three."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("PROXX_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("PROXX_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--window-size=1280,1600",
)


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium that records its console (goog:loggingPrefs) for the error check."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for tool in (CHROMIUM, CHROMEDRIVER):
        if not os.path.isfile(tool):
            pytest.fail(f"{tool} is missing: run bash .ci/system-packages (installs chromium, chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in CHROMIUM_ARGS:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def keep_artifact():
    """keep(path): copy a screenshot or page image to $PROXX_TEST_ARTIFACTS, when set."""

    def keep(path: Path) -> None:
        target = os.environ.get("PROXX_TEST_ARTIFACTS")
        if target:
            os.makedirs(target, exist_ok=True)
            shutil.copy2(path, Path(target) / path.name)

    return keep
