"""The facade mapping: image point -> (floor, unit) through the calibrated quad."""

from __future__ import annotations

import numpy as np
import pytest

from bench.scenesim import BALCONY_M, STOREY_M, Camera, SceneSpec, calibration
from edge.facade import Facade


def test_rectangle_floors_and_units() -> None:
    f = Facade([[100, 100], [400, 100], [400, 500], [100, 500]], (3, 18), ["01", "02", "03"])
    assert f.storeys == 16
    storey = 400 / 16
    # centre of the bottom storey, left unit
    pos = f.locate(120, 500 - storey / 2)
    assert (pos.floor, pos.unit, pos.inside) == (3, "01", True)
    # just below the top edge, right unit
    pos = f.locate(390, 100 + storey / 2)
    assert (pos.floor, pos.unit) == (18, "03")
    # middle unit, floor 10 (the 8th storey from the bottom)
    pos = f.locate(250, 500 - 7.5 * storey)
    assert (pos.floor, pos.unit) == (10, "02")


def test_perspective_upper_floors_look_shorter() -> None:
    """An upward camera: the facade's top edge is narrower; the homography still counts storeys evenly."""
    # build the image of an 11-storey facade through a real homography
    f = Facade([[220, 50], [420, 50], [600, 470], [40, 470]], (1, 11))
    heights = [f.floor_height_px(320, f.to_image(0.5, 1 - (k + 0.5) / 11)[1]) for k in range(11)]
    assert all(b < a for a, b in zip(heights, heights[1:], strict=False)), heights
    for k in range(11):
        x, y = f.to_image(0.5, 1 - (k + 0.5) / 11)
        assert f.locate(x, y).floor == k + 1


def test_round_trip_and_polygons() -> None:
    f = Facade([[10, 20], [300, 30], [310, 400], [5, 390]], (1, 20), ["A", "B"])
    for u, v in [(0.1, 0.1), (0.5, 0.5), (0.9, 0.95)]:
        x, y = f.to_image(u, v)
        uu, vv = f.to_uv(x, y)
        assert (uu, vv) == pytest.approx((u, v), abs=1e-6)
    poly = f.floor_polygon(20, "B")
    cx, cy = poly.mean(axis=0)
    pos = f.locate(float(cx), float(cy))
    assert (pos.floor, pos.unit) == (20, "B")


def test_points_off_the_facade() -> None:
    f = Facade([[100, 100], [400, 100], [400, 500], [100, 500]], (3, 18), ["01", "02"])
    storey = 400 / 16
    # a release point extrapolated slightly above the top edge still names the top floor
    assert f.locate(200, 100 - 0.3 * storey).floor == 18
    # well above the roof: no floor
    pos = f.locate(200, 100 - 3 * storey)
    assert pos.floor is None and not pos.inside
    # far to the side: no unit
    assert f.locate(900, 300).unit is None


def test_releases_above_the_top_edge() -> None:
    """Nothing is let go above the roof: a release fitted above the top edge, in the picture,
    names the top floor; where the calibration stops below the roof, the floors above it, up
    to the highest. One fitted above the picture as well names none: the camera saw nothing there."""
    size = (500, 600)  # the top edge at y = 100, a storey 25 px: 4 storeys of picture above it
    roof = Facade([[100, 100], [400, 100], [400, 500], [100, 500]], (3, 18), ["01", "02"])
    assert roof.locate_release(0.25, 10.5, size).floor == 13  # inside: as locate
    assert roof.locate_release(0.25, 16.2, size).floor == 18
    pos = roof.locate_release(0.75, 19.1, size)  # three storeys over: still the top floor, and its unit
    assert (pos.floor, pos.unit, pos.inside) == (18, "02", False)
    assert roof.locate(250, roof.to_image(0.75, 1 - 19.1 / 16)[1]).floor is None  # an image point names none
    assert roof.locate_release(0.25, 20.5, size).floor is None  # above the picture
    lower = Facade([[100, 100], [400, 100], [400, 500], [100, 500]], (3, 18), ["01", "02"], highest_floor=20)
    assert [lower.locate_release(0.25, s, size).floor for s in (15.5, 16.2, 17.5, 19.1)] == [18, 19, 20, 20]
    assert lower.locate_release(0.25, -2.0, size).floor is None  # below the view: nothing seen falls from there


def test_corners_accept_numpy() -> None:
    f = Facade(np.array([[0, 0], [10, 0], [10, 10], [0, 10]]), (1, 1))
    assert f.locate(5, 5).floor == 1


@pytest.mark.parametrize("hfov", [60.0, 75.0, 90.0])
@pytest.mark.parametrize("tilt", [55.0, 70.0])
def test_facade_width_from_its_corners(hfov: float, tilt: float) -> None:
    """Without a measured width, the corners and an assumed 75-degree lens put it within 32 %
    for the 60-90 degree lenses installers use (the simulator's camera is an exact pinhole);
    a measured width is taken as it is."""
    spec = SceneSpec(hfov_deg=hfov, tilt_deg=tilt, distance_m=14.0)
    calib = calibration(spec, Camera(spec))
    f = Facade(calib["corners"], calib["floors"], calib["units"])
    true_w = len(spec.units) * spec.unit_width_m
    assert f.width_metres(STOREY_M, (spec.width, spec.height)) == pytest.approx(true_w, rel=0.32)
    if hfov == 75.0:  # the assumed lens: exact
        assert f.width_metres(STOREY_M, (spec.width, spec.height)) == pytest.approx(true_w, rel=0.01)
    measured = Facade(calib["corners"], calib["floors"], calib["units"], width_m=31.0)
    assert measured.width_metres(STOREY_M, (spec.width, spec.height)) == 31.0


@pytest.mark.parametrize("hfov", [60.0, 90.0])
@pytest.mark.parametrize("tilt", [55.0, 70.0])
def test_the_camera_of_a_facade_with_a_measured_width(hfov: float, tilt: float) -> None:
    """The corners and the measured width fix the lens and the camera's pose (Zhang, principal
    point at the centre): points off the facade plane, where a tossed thing flies, project as
    the simulator's pinhole camera draws them."""
    spec = SceneSpec(hfov_deg=hfov, tilt_deg=tilt, distance_m=14.0)
    cam = Camera(spec)
    calib = calibration(spec, cam)
    width = len(spec.units) * spec.unit_width_m
    p = Facade(calib["corners"], calib["floors"], calib["units"], width_m=width).camera_matrix(
        STOREY_M, (spec.width, spec.height)
    )
    origin = np.array([0.0, (calib["floors"][0] - 1) * STOREY_M, BALCONY_M])  # the calibrated bottom-left
    for point in ([5.0, 40.0, 3.0], [25.0, 20.0, 0.5], [12.0, 50.0, 6.0]):
        x, y, _ = cam.project(np.array(point))
        img = p @ np.append(np.array(point) - origin, 1.0)
        assert img[:2] / img[2] == pytest.approx([x, y], abs=0.5)
