"""Review decisions, the review server's API (real HTTP on 127.0.0.1), the export honouring the review and the
labelme round trip, on a records folder of real photos and their real instance masks (tests/review_data.py)."""
import http.client
import json

import numpy as np
import pytest
from review_data import QUESTIONS, build_engine_output, question_ids

from gear_seg_ros.cli.main import main
from gear_seg_ros.engine.contours import mask_to_polygons, polygons_to_mask
from gear_seg_ros.engine.records import read_record, record_path
from gear_seg_ros.engine.review.data import ReviewData
from gear_seg_ros.engine.review.decisions import DecisionStore, apply_decisions, load_decisions
from gear_seg_ros.engine.review.server import make_server, serve_in_thread
from gear_seg_ros.utils.rle import decode_rle

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pycocotools under numpy 2


@pytest.fixture
def engine_out(tmp_path):
    return build_engine_output(tmp_path)


@pytest.fixture
def server(engine_out):
    images, out = engine_out
    srv = make_server(ReviewData(out, images, progress=False), port=0)
    serve_in_thread(srv)
    yield out, srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def request(port, method, path, body=None, host=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"}
    if host:
        headers["Host"] = host
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, response.getheader("Content-Type"), data


def lisa_texts(out):
    docs = [json.loads(p.read_text()) for p in (out / "export" / "lisa").rglob("*.json")]
    return {d["question_id"]: d["text"] for d in docs}


def test_api_state_images_masks_and_decisions(server):
    out, port = server
    status, ctype, body = request(port, "GET", "/api/state")
    state = json.loads(body)
    assert status == 200 and [q["question_id"] for i in state["images"] for q in i["questions"]] == question_ids()
    assert "rle" not in json.dumps(state) and "masks" not in state["images"][0]  # masks come per image
    status, _, body = request(port, "GET", "/api/masks/voc")
    masks = json.loads(body)
    assert status == 200 and len(masks) == 19 and masks[15]["description"] == "a person"
    assert [m["eligible"] for m in masks][:2] == [True, True] and masks[6]["eligible"] is False  # 105 px < 1/600
    status, ctype, body = request(port, "GET", "/")
    assert status == 200 and b"/static/app.js" in body and b"http" not in body  # no network assets
    status, ctype, body = request(port, "GET", "/api/image/arc2017")
    assert status == 200 and ctype == "image/jpeg" and body[:2] == b"\xff\xd8"
    import cv2

    status, ctype, body = request(port, "GET", "/api/mask/arc2017/5.png")
    rgba = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_UNCHANGED)
    record = read_record(record_path(out, "arc2017"))
    assert rgba.shape == (record.height, record.width, 4)
    inside = decode_rle(record.masks[5].rle)
    assert (rgba[..., 3] > 0)[inside].all() and (rgba[..., 3] > 0).sum() < 1.2 * inside.sum()

    status, _, body = request(port, "POST", "/api/decision", {"question_id": "voc_q1", "status": "rejected"})
    assert status == 200 and json.loads(body)["status"] == "rejected"
    status, _, body = request(port, "POST", "/api/decision",
                              {"question_id": "voc_q0", "text": ["  Who sits  nearest? ", "", "The nearest person"]})
    assert json.loads(body) == {"question_id": "voc_q0", "status": "pending", "edited": True,
                                "text": ["Who sits nearest?", "The nearest person"]}
    status, _, body = request(port, "POST", "/api/decision", {"question_id": "voc_q2", "text": ["Which one?"]})
    status, _, body = request(port, "POST", "/api/decision", {"question_id": "voc_q2", "text": None})
    assert json.loads(body)["text"] == QUESTIONS["voc"][2][1] and not json.loads(body)["edited"]  # restored
    on_disk = load_decisions(out)  # saved before the answer came
    assert on_disk["voc_q1"].status == "rejected" and on_disk["voc_q0"].text == ["Who sits nearest?",
                                                                                  "The nearest person"]
    assert not list(out.glob(".review.json.*"))  # no temp file left behind


@pytest.mark.parametrize("body, message", [
    ({"question_id": "nope", "status": "accepted"}, "no question 'nope'"),
    ({"question_id": "voc_q0", "status": "maybe"}, "is not one of"),
    ({"question_id": "voc_q0", "text": ["   "]}, "empty"),
    ({"question_id": "voc_q0", "text": "one string"}, "list of lines"),
])
def test_api_refuses_bad_decisions(server, body, message):
    out, port = server
    status, _, data = request(port, "POST", "/api/decision", body)
    assert status == 400 and message in json.loads(data)["error"]
    assert load_decisions(out) == {}


def test_api_refuses_other_host_names_and_unknown_paths(server):
    _, port = server
    assert request(port, "GET", "/api/state", host="evil.example:80")[0] == 403
    assert request(port, "GET", "/api/image/nope")[0] == 404
    assert request(port, "GET", "/api/mask/arc2017/99.png")[0] == 404
    assert request(port, "GET", "/../../etc/passwd")[0] == 404


def test_export_leaves_rejected_out_and_takes_edited_text(engine_out, capsys):
    _, out = engine_out
    store = DecisionStore(out)
    store.update("arc2017_q0", "arc2017", status="accepted")
    store.update("arc2017_q1", "arc2017", status="rejected")
    store.update("voc_q2", "voc", text=["Which object is the bottle?"], status="accepted")
    assert main(["engine", "export", str(out), "--formats", "lisa,parquet", "--split", "1,0,0"]) == 0
    assert "1 rejected (left out)" in capsys.readouterr().out
    texts = lisa_texts(out)
    assert set(texts) == set(question_ids()) - {"arc2017_q1"}
    assert texts["voc_q2"] == ["Which object is the bottle?"] and texts["arc2017_q0"] == QUESTIONS["arc2017"][0][1]
    import pyarrow.parquet as pq

    table = pq.read_table(out / "export" / "parquet" / "train.parquet", columns=["ann_id", "text"]).to_pylist()
    assert {r["ann_id"]: r["text"] for r in table} == texts
    assert main(["engine", "export", str(out), "--formats", "lisa", "--only-accepted", "--split", "1,0,0"]) == 0
    assert set(lisa_texts(out)) == {"arc2017_q0", "voc_q2"}


def test_a_damaged_decision_file_is_a_clear_error(engine_out, capsys):
    _, out = engine_out
    (out / "review.json").write_text("{not json")
    assert main(["engine", "export", str(out), "--formats", "lisa"]) == 2
    assert "review.json is not a review decisions file" in capsys.readouterr().err


def test_apply_decisions_keeps_the_record_valid(engine_out):
    _, out = engine_out
    record = read_record(record_path(out, "voc"))
    store = DecisionStore(out)
    store.update("voc_q0", "voc", status="rejected")
    applied = apply_decisions(record, store.decisions)
    assert [q.question_id for q in applied.questions] == ["voc_q1", "voc_q2"]
    assert applied.masks == record.masks


# ---- labelme --------------------------------------------------------------------------------------------------------
def test_labelme_export_reads_back_with_the_projects_labelme_reader(engine_out, capsys):
    from gear_seg_ros.evaluation.polygon_readers import read_labelme_file

    _, out = engine_out
    DecisionStore(out).update("arc2017_q1", "arc2017", status="flagged")
    assert main(["engine", "labelme", "export", str(out), "--no-progress"]) == 0
    assert "1 labelme files" in capsys.readouterr().out
    path = out / "labelme" / "arc2017_q1.json"
    doc = json.loads(path.read_text())
    assert doc["imagePath"] == "arc2017_q1.jpg" and (path.parent / doc["imagePath"]).is_file()
    assert {s["group_id"] for s in doc["shapes"]} == {3, 1} and doc["gear_seg"]["question_id"] == "arc2017_q1"
    record = read_record(record_path(out, "arc2017"))
    by_label = {s.queries[0].category: s.target for s in read_labelme_file(path)}
    for mask_id, label in ((3, "soap"), (1, "baby wipes")):
        mask = decode_rle(record.masks[mask_id].rle)
        assert np.array_equal(by_label[label], polygons_to_mask(mask_to_polygons(mask), *mask.shape))


def test_labelme_corrections_come_back_into_the_records(engine_out, capsys):
    _, out = engine_out
    store = DecisionStore(out)
    store.update("arc2017_q1", "arc2017", status="flagged")
    store.update("voc_q0", "voc", status="flagged")
    assert main(["engine", "labelme", "export", str(out), "--no-progress"]) == 0
    before, voc_before = read_record(record_path(out, "arc2017")), record_path(out, "voc").read_text()
    # the annotator: deletes the baby wipes (mask 1), redraws the soap as a rectangle, adds a new shape
    path = out / "labelme" / "arc2017_q1.json"
    doc = json.loads(path.read_text())
    doc["shapes"] = [s for s in doc["shapes"] if s["group_id"] != 1]
    for shape in doc["shapes"]:
        shape.update(shape_type="rectangle", points=[[100.0, 100.0], [160.0, 140.0]], label="soap bar")
    doc["shapes"].append({"label": "sponge", "points": [[10, 10], [60, 10], [60, 50], [10, 50]], "group_id": None,
                          "shape_type": "polygon", "flags": {}})
    path.write_text(json.dumps(doc))
    assert main(["engine", "labelme", "import", str(out), "--no-progress"]) == 0
    assert "1 questions with corrected masks, 2 masks added" in capsys.readouterr().out
    after = read_record(record_path(out, "arc2017"))
    assert after.masks[:len(before.masks)] == before.masks  # the perception's masks stay
    question = next(q for q in after.questions if q.question_id == "arc2017_q1")
    assert [a.label for a in question.answers] == ["soap bar", "sponge"]
    soap, sponge = (decode_rle(after.masks[a.mask_id].rle) for a in question.answers)
    expected = polygons_to_mask([[[100, 100], [160, 100], [160, 140], [100, 140]]], after.height, after.width)
    assert np.array_equal(soap, expected) and sponge[10:51, 10:61].all() and sponge.sum() == 41 * 51
    assert load_decisions(out)["arc2017_q1"].status == "accepted"  # flagged and fixed
    assert load_decisions(out)["voc_q0"].status == "flagged"  # untouched in labelme: still to fix
    assert record_path(out, "voc").read_text() == voc_before
    text = record_path(out, "arc2017").read_text()
    assert main(["engine", "labelme", "import", str(out), "--no-progress"]) == 0  # again: nothing changes
    assert record_path(out, "arc2017").read_text() == text


def test_labelme_question_left_without_shapes_is_rejected(engine_out):
    _, out = engine_out
    DecisionStore(out).update("voc_q2", "voc", status="flagged")
    assert main(["engine", "labelme", "export", str(out), "--no-progress"]) == 0
    path = out / "labelme" / "voc_q2.json"
    doc = json.loads(path.read_text())
    doc["shapes"] = []
    path.write_text(json.dumps(doc))
    assert main(["engine", "labelme", "import", str(out), "--no-progress"]) == 0
    assert load_decisions(out)["voc_q2"].status == "rejected"


def test_labelme_bad_selection_and_missing_folder(engine_out, capsys):
    _, out = engine_out
    assert main(["engine", "labelme", "export", str(out), "--select", "good"]) == 2
    assert "--select 'good'" in capsys.readouterr().err
    assert main(["engine", "labelme", "import", str(out)]) == 2
    assert "run `gear-seg engine labelme export" in capsys.readouterr().err
    assert main(["engine", "review"]) == 2
