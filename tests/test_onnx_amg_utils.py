"""Numpy pieces of the ONNX automatic mask generator, checked against torch / brute-force references. Fast."""
import numpy as np
import pytest

from gear_seg_ros.segment import amg_utils as amg


def test_point_grid_matches_sam_layout():
    g = amg.build_point_grid(4)
    assert g.shape == (16, 2)
    assert np.allclose(g[:4, 0], [0.125, 0.375, 0.625, 0.875])  # x varies fastest
    assert np.allclose(g[:4, 1], 0.125)
    pts, model_pts = amg.grid_prompts(4, (480, 640), 1024)
    assert pts.dtype == np.float32 and np.allclose(pts[1], [0.375 * 640, 0.125 * 480])
    assert np.allclose(model_pts[1], [0.375 * 1024, 0.125 * 1024], atol=1e-3)


@pytest.mark.parametrize("in_hw", [(300, 500), (1400, 900), (1024, 1024)])
def test_preprocess_matches_torch_antialias_resize(in_hw):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(*in_hw, 3), dtype=np.uint8)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    ours = amg.preprocess_image(image, 1024, mean, std)
    t = torch.from_numpy(image).permute(2, 0, 1).float().div(255)[None]
    t = F.interpolate(t, size=(1024, 1024), mode="bilinear", align_corners=False, antialias=True)
    t = (t - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    assert ours.shape == (1, 3, 1024, 1024) and ours.dtype == np.float32
    assert np.abs(ours - t.numpy()).max() < 1e-4


@pytest.mark.parametrize("out_hw", [(512, 512), (480, 640), (1080, 1920), (100, 90)])
def test_logit_upscaler_matches_torch_bilinear(out_hw):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    rng = np.random.default_rng(1)
    low = rng.normal(size=(5, 256, 256)).astype(np.float32)
    ours = amg.LogitUpscaler((256, 256), out_hw)(low)
    ref = F.interpolate(torch.from_numpy(low)[None], out_hw, mode="bilinear", align_corners=False)[0].numpy()
    assert ours.shape == ref.shape
    # same formula; float32 rounding of the source index (~1e-5 near index 128) differs from torch's kernel
    assert np.abs(ours - ref).max() < 1e-4


def test_stability_score_and_boxes():
    logits = np.full((3, 10, 12), -5.0, dtype=np.float32)
    logits[0, 2:6, 3:9] = 5.0  # stable: same mask at +-1
    logits[1, 2:6, 3:9] = 0.5  # 24 px above -1 but none above +1
    logits[1, 2:4, 3:9] = 2.0  # 12 px above +1
    s = amg.stability_score(logits, 0.0, 1.0)
    assert s[0] == 1.0 and s[1] == pytest.approx(0.5) and np.isnan(s[2])
    boxes = amg.masks_to_boxes(logits > 0)
    assert boxes.tolist() == [[3, 2, 8, 5], [3, 2, 8, 5], [0, 0, 0, 0]]  # inclusive x1/y1, zeros when empty


def _nms_oracle(boxes, scores, thr):
    """Greedy NMS written the obvious way."""
    def iou(a, b):
        iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        inter = iw * ih
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
        return inter / union if union > 0 else 0.0

    keep = []
    for i in sorted(range(len(boxes)), key=lambda k: -scores[k]):
        if all(iou(boxes[i], boxes[j]) <= thr for j in keep):
            keep.append(i)
    return keep


def test_box_nms_matches_greedy_oracle():
    rng = np.random.default_rng(2)
    xy = rng.integers(0, 80, size=(200, 2))
    wh = rng.integers(1, 40, size=(200, 2))
    boxes = np.concatenate([xy, xy + wh], axis=1)
    scores = rng.random(200).astype(np.float32)
    for thr in (0.3, 0.7, 1.0):
        assert amg.box_nms(boxes, scores, thr).tolist() == _nms_oracle(boxes.tolist(), scores.tolist(), thr)
    assert amg.box_nms(np.zeros((0, 4)), np.zeros(0), 0.7).size == 0
