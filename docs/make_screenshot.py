"""Make docs/screenshot.png: the review page's overview after a real cycle against fake feeds,
as a comms officer sees it in Debian's headless chromium.

    .venv/bin/python docs/make_screenshot.py [--output docs/screenshot.png]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from selenium.webdriver.common.by import By  # noqa: E402

from core.config import parse_config  # noqa: E402
from edumon.web.app import create_app  # noqa: E402
from tests.conftest import SCHOOLS  # noqa: E402
from tests.web_helpers import PASSWORDS, SECRET, USERS, LiveServer, chromium_driver, seed  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output", default=str(REPO / "docs" / "screenshot.png"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = parse_config(
            {
                "organisation": {"name": "Edu-Ley"},
                "schools": SCHOOLS,
                "users": USERS,
                "warehouse": {"path": f"{tmp}/edumon.duckdb"},
            }
        )
        seed(cfg)
        with LiveServer(create_app(cfg, SECRET)) as srv:
            driver = chromium_driver(f"{tmp}/profile", width=1280, height=1700)
            try:
                driver.get(srv.url + "/login")
                driver.find_element(By.NAME, "username").send_keys("anna")
                driver.find_element(By.NAME, "password").send_keys(PASSWORDS["anna"])
                driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
                driver.find_element(By.ID, "totals")  # waits for the overview
                driver.save_screenshot(args.output)
            finally:
                driver.quit()
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
