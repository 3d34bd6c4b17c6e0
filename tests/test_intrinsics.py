"""camera_info K validation: NaN / infinite / non-positive focal lengths are refused with what to fix."""
import math

import pytest

from gear_seg_ros.errors import InvalidImageError
from gear_seg_ros.geometry.camera import intrinsics

GOOD = [525.0, 0.0, 319.5, 0.0, 525.0, 239.5, 0.0, 0.0, 1.0]


@pytest.mark.parametrize("k", [[0.0] * 9, [math.nan] * 9, [math.inf, 0, 319.5, 0, math.inf, 239.5, 0, 0, 1],
                               GOOD[:4] + [math.nan] + GOOD[5:], [-1.0] + GOOD[1:], GOOD[:8]])
def test_bad_intrinsics_are_refused(k):
    with pytest.raises(InvalidImageError, match="fx = K\\[0\\] > 0"):
        intrinsics(k)


def test_good_intrinsics():
    assert intrinsics(GOOD) == (525.0, 525.0, 319.5, 239.5)
