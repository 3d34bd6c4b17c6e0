"""A real headless Chromium driven by selenium, for the page tests (review page, eval report).

Skips with the reason when Debian's chromium / chromium-driver or selenium are missing (`.ci/run` installs them when
it runs as root). Set GEAR_SEG_SCREENSHOTS=DIR to keep the screenshots (README's docs/img/ come from there).
"""
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


def missing() -> str:
    if CHROMIUM is None or DRIVER is None:
        return "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; .ci/run " \
               "installs them when run as root)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "needs selenium (requirements/cpu.in)"
    return ""


def headless_chromium():
    """A generator for a fixture: `yield from headless_chromium()` (the browser closes when the fixture ends)."""
    reason = missing()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # selenium must not look for drivers on the network
    profile = tempfile.mkdtemp(prefix="gear-seg-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,900",
                "--no-first-run", "--disable-extensions", "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
                f"--user-data-dir={profile}", "--allow-file-access-from-files"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(driver, name: str, fallback_dir: Path) -> np.ndarray:
    """Saves a PNG (to $GEAR_SEG_SCREENSHOTS when set) and returns it as RGB pixels."""
    import cv2

    folder = Path(os.environ.get("GEAR_SEG_SCREENSHOTS") or fallback_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    png = driver.get_screenshot_as_png()
    pixels = cv2.cvtColor(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    # a small, palette-quantised PNG for the README (a few hundred KB at most)
    from PIL import Image

    Image.fromarray(pixels).quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
        path, optimize=True)
    return pixels


def not_blank(pixels: np.ndarray) -> tuple[float, int]:
    """(fraction of pixels that are not near-white, number of distinct colours after 4-bit quantisation)."""
    non_white = float((pixels.min(axis=2) < 235).mean())
    colours = len(np.unique((pixels >> 4).reshape(-1, 3), axis=0))
    return non_white, colours
