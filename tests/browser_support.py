"""A real headless Chromium for the tests (Debian's chromium + chromedriver, through selenium).

When the browser is absent the test is skipped with the reason, unless ``ICIPREDICT_REQUIRE_BROWSER=1``
(CI) makes that a failure. Screenshots go to ``test-artifacts/`` (gitignored).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def require_browser() -> None:
    """Skip (or fail under ICIPREDICT_REQUIRE_BROWSER=1) when chromium, chromedriver or selenium is missing."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        import selenium  # noqa: F401  (only whether it imports)
    except ImportError:
        missing.append("the selenium package (pip install -e '.[dev]')")
    if missing:
        reason = (f"headless browser not available: {', '.join(missing)} missing "
                  "(apt-get install chromium chromium-driver)")
        if os.environ.get("ICIPREDICT_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + "; ICIPREDICT_REQUIRE_BROWSER=1 requires it")
        pytest.skip(reason)


@contextmanager
def chromium(profile: Path, *, window: str = "1280,2200") -> Iterator[object]:
    """A headless Chromium driver with its own profile folder; quit on exit."""
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)  # with the driver path below, Selenium Manager never downloads
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", f"--window-size={window}", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def wait_replaced(driver, old, timeout: float = 30) -> None:
    """Wait until the element ``old`` has left the page (the form was submitted and a new page drawn).

    Selenium's ``staleness_of`` asks the element for a property; while Chromium is swapping the document
    it can answer "Node with given id does not belong to the document" instead of the stale-element error,
    which means the same thing: the old page is gone.
    """
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    def gone(_) -> bool:
        try:
            old.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            if "does not belong to the document" in str(exc):
                return True
            raise
        return False

    WebDriverWait(driver, timeout).until(gone)
