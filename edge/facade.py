"""Map image points to (floor, unit) on a calibrated facade, and back.

The one place that knows the facade geometry. An installer marks the facade's four
corners in the image (top-left, top-right, bottom-right, bottom-left), the floors at its
bottom and top edges, and optionally the unit columns left to right. A homography maps
the quad onto the unit square (u to the right, v downwards); storeys and units divide
the square evenly. The homography is exact for a planar facade under a pinhole camera,
so perspective from an upward-tilted camera (upper floors appear shorter) is handled.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from contract import FacadeCalibration

# Without a measured facade width, its metres across are estimated from the corners for a lens
# of this horizontal field of view: the 4 mm lens on a 1/2.8" sensor that installers use most
# (FIELD_NOTES §2). With 60-90 degree lenses the estimate is within about 30 %.
ASSUMED_HFOV_DEG = 75.0

# A point this far outside the quad (in storeys / unit widths) still maps to the nearest
# floor or unit: trajectories extrapolated back to the release point are noisy by about that.
EDGE_TOLERANCE = 0.5


def _assumed_focal(image_size: tuple[int, int]) -> float:
    return (image_size[0] / 2) / float(np.tan(np.radians(ASSUMED_HFOV_DEG) / 2))


def _intrinsics(f: float, image_size: tuple[int, int]) -> np.ndarray:
    return np.array([[f, 0, image_size[0] / 2], [0, f, image_size[1] / 2], [0, 0, 1.0]])


@dataclass(frozen=True)
class FacadePosition:
    u: float  # 0 at the left edge, 1 at the right edge
    v: float  # 0 at the top edge, 1 at the bottom edge
    floor: int | None
    unit: str | None
    inside: bool


class Facade:
    def __init__(
        self,
        corners: list[tuple[float, float]] | np.ndarray,
        floors: tuple[int, int],
        units: list[str] | None = None,
        width_m: float | None = None,
        highest_floor: int | None = None,
    ) -> None:
        self.width_m = width_m
        self.corners = np.asarray(corners, dtype=np.float32).reshape(4, 2)
        self.bottom_floor, self.top_floor = int(floors[0]), int(floors[1])
        # the building's highest floor: the top edge's unless the calibration stops below the roof
        self.highest_floor = max(self.top_floor, highest_floor or self.top_floor)
        self.units = list(units) if units else []
        square = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32)
        self._to_facade = cv2.getPerspectiveTransform(self.corners, square)
        self._to_image = cv2.getPerspectiveTransform(square, self.corners)

    def calibration(self) -> FacadeCalibration:
        """This mapping as the contract carries it with a thrown-object event."""
        corners = [(float(x), float(y)) for x, y in self.corners]
        return FacadeCalibration(corners=corners, floors=(self.bottom_floor, self.top_floor), units=self.units or None)

    @property
    def storeys(self) -> int:
        return self.top_floor - self.bottom_floor + 1

    def to_uv(self, x: float, y: float) -> tuple[float, float]:
        u, v = self.to_uv_many(np.array([[x, y]]))[0]
        return float(u), float(v)

    def to_image(self, u: float, v: float) -> tuple[float, float]:
        pt = cv2.perspectiveTransform(np.array([[[u, v]]], dtype=np.float64), self._to_image)
        return float(pt[0, 0, 0]), float(pt[0, 0, 1])

    def to_uv_many(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) image points -> (N, 2) facade (u, v)."""
        pts = np.asarray(xy, dtype=np.float64).reshape(-1, 1, 2)
        return cv2.perspectiveTransform(pts, self._to_facade).reshape(-1, 2)

    def storeys_up(self, xy: np.ndarray) -> np.ndarray:
        """Height of image points above the bottom edge, in storeys (for physics in metres)."""
        return self.to_metres(xy, 1.0, 1.0)[:, 1]

    def to_metres(self, xy: np.ndarray, storey_m: float, width_m: float) -> np.ndarray:
        """(N, 2) image points -> (N, 2) metres along the facade from its left edge and up
        from its bottom edge: where falls are judged (see width_metres for width_m)."""
        uv = self.to_uv_many(xy)
        return np.stack([uv[:, 0] * width_m, (1.0 - uv[:, 1]) * self.storeys * storey_m], 1)

    def width_metres(self, storey_m: float, image_size: tuple[int, int]) -> float:
        """Metres between the facade's left and right edges: the installer's figure, or an
        estimate from the corners.

        Perspective foreshortens heights far more than widths on an upward camera (at 60-70
        degrees up, a storey is a third as tall in the image as it is wide), so image pixels
        cannot compare sideways drift with a fall. Under a pinhole camera the facade's
        homography is K [r1 r2 t] scaled per axis: with K from an assumed lens, the two
        column norms give metres per unit of u and of v, and v is known in metres from the
        storeys."""
        if self.width_m is not None:
            return self.width_m
        cols = np.linalg.inv(_intrinsics(_assumed_focal(image_size), image_size)) @ self._to_image
        return float(self.storeys * storey_m * np.linalg.norm(cols[:, 0]) / np.linalg.norm(cols[:, 1]))

    def camera_matrix(self, storey_m: float, image_size: tuple[int, int]) -> np.ndarray:
        """The 3x4 pinhole projection of facade metres (X along the facade from its left edge,
        Y up from its bottom edge, Z out of it toward the camera) to image px.

        A thing tossed out toward an upward camera is seen from below: on the facade plane it
        seems to rise and fall faster than gravity, and only a fit in three dimensions puts it
        back where it was. A plane homography is K [r1 r2 t] up to scale (Zhang); with the
        principal point at the image centre, the lens is what the installer's facade width
        implies (the two columns must have equal norm once K is taken out), or the assumed
        lens when no width was measured or the view is too square-on to tell."""
        w, h = image_size
        width_m = self.width_metres(storey_m, image_size)
        to_uv = np.array([[1 / width_m, 0, 0], [0, -1 / (self.storeys * storey_m), 1], [0, 0, 1.0]])
        hom = self._to_image @ to_uv  # facade metres (X, Y, 1) -> image
        f = _assumed_focal(image_size)
        if self.width_m is not None:
            c = np.array([[1, 0, -w / 2], [0, 1, -h / 2], [0, 0, 1.0]]) @ hom
            den = c[2, 1] ** 2 - c[2, 0] ** 2
            num = c[0, 0] ** 2 + c[1, 0] ** 2 - c[0, 1] ** 2 - c[1, 1] ** 2
            if abs(den) > 1e-12 and 0.25 * f * f < num / den < 4 * f * f:
                f = float(np.sqrt(num / den))
        k = _intrinsics(f, image_size)
        m = np.linalg.inv(k) @ hom
        scale = 2 / (np.linalg.norm(m[:, 0]) + np.linalg.norm(m[:, 1]))
        if m[2, 2] < 0:  # the facade lies in front of the camera
            scale = -scale
        r1, r2, t = scale * m[:, 0], scale * m[:, 1], scale * m[:, 2]
        u, _s, vt = np.linalg.svd(np.stack([r1, r2, np.cross(r1, r2)], 1))
        return k @ np.hstack([u @ vt, t[:, None]])

    def locate(self, x: float, y: float) -> FacadePosition:
        """Floor and unit of an image point; None where it lies clearly off the facade."""
        return self.locate_uv(*self.to_uv(x, y))

    def locate_uv(self, u: float, v: float) -> FacadePosition:
        """Floor and unit of a facade point (u, v), as `locate` for points already on the facade."""
        inside = 0.0 <= u <= 1.0 and 0.0 <= v <= 1.0
        storey = (1.0 - v) * self.storeys  # 0 at the bottom edge
        floor = None
        if -EDGE_TOLERANCE <= storey <= self.storeys + EDGE_TOLERANCE:
            floor = self.bottom_floor + min(max(int(np.floor(storey)), 0), self.storeys - 1)
        unit = None
        if self.units:
            col = u * len(self.units)
            if -EDGE_TOLERANCE <= col <= len(self.units) + EDGE_TOLERANCE:
                unit = self.units[min(max(int(np.floor(col)), 0), len(self.units) - 1)]
        return FacadePosition(u, v, floor, unit, inside)

    def locate_release(self, u: float, storeys_up: float, image_size: tuple[int, int]) -> FacadePosition:
        """Floor and unit of a release at facade `u`, `storeys_up` storeys above the bottom edge.

        Unlike an image point (`locate`), a release fitted above the top edge but still in the
        picture names a floor: nothing is let go from above the roof, and a release extrapolated
        back from a small thing's short or late track can overshoot by a storey or more (two
        bottle caps thrown from their buildings' top floors were put 1.9 and 3.4 storeys above
        them on the bench). It names the floor the storeys above the top edge reach, up to the
        building's highest (`highest_floor`, the top edge's own when the calibration reaches the
        roof). A release fitted above the picture too lies where the camera saw nothing (a thing
        tossed up out of view and caught coming down): it names no floor, as `locate`."""
        v = 1.0 - storeys_up / self.storeys
        pos = self.locate_uv(u, v)
        _x, y = self.to_image(u, v)
        if storeys_up <= self.storeys or not 0 <= y < image_size[1]:
            return pos
        floor = min(self.bottom_floor + int(np.floor(storeys_up)), self.highest_floor)
        return FacadePosition(pos.u, pos.v, floor, pos.unit, pos.inside)

    def floor_height_px(self, x: float, y: float) -> float:
        """Image height of one storey at an image point (perspective makes it vary)."""
        return float(self.floor_heights_px(np.array([[x, y]]))[0])

    def metre_across_px(self, x: float, y: float, width_m: float) -> float:
        """Image length of one metre along the facade at an image point (`width_m` as for
        to_metres): the scale of a thing seen there, which an upward camera does not
        foreshorten the way it does the facade's heights."""
        u, v = self.to_uv(x, y)
        du = 0.5 / width_m
        (xa, ya), (xb, yb) = self.to_image(u - du, v), self.to_image(u + du, v)
        return float(np.hypot(xb - xa, yb - ya))

    def floor_heights_px(self, xy: np.ndarray) -> np.ndarray:
        """floor_height_px of (N, 2) image points at once."""
        uv = self.to_uv_many(xy)
        dv = 0.5 / self.storeys
        ends = np.concatenate([uv + (0, dv), uv - (0, dv)]).reshape(-1, 1, 2)
        y = cv2.perspectiveTransform(ends, self._to_image).reshape(2, -1, 2)[:, :, 1]
        return np.abs(y[0] - y[1])

    def grid_lines(self) -> list[tuple[tuple[float, float], tuple[float, float]]]:
        """Image segments of every storey boundary and unit boundary, for drawing the mapping
        over a snapshot (the installer sees exactly what the detector will use)."""
        lines = []
        for k in range(self.storeys + 1):
            v = k / self.storeys
            lines.append((self.to_image(0.0, v), self.to_image(1.0, v)))
        for k in range(len(self.units) + 1):
            u = k / len(self.units)
            lines.append((self.to_image(u, 0.0), self.to_image(u, 1.0)))
        return lines

    def floor_polygon(self, floor: int, unit: str | None = None) -> np.ndarray:
        """Image polygon of one storey (or one storey of one unit), for overlays."""
        k = floor - self.bottom_floor
        v_top, v_bot = 1.0 - (k + 1) / self.storeys, 1.0 - k / self.storeys
        u0, u1 = 0.0, 1.0
        if unit is not None and self.units:
            i = self.units.index(unit)
            u0, u1 = i / len(self.units), (i + 1) / len(self.units)
        pts = [self.to_image(u, v) for u, v in ((u0, v_top), (u1, v_top), (u1, v_bot), (u0, v_bot))]
        return np.array(pts, dtype=np.float32)
