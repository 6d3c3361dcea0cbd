"""Physics of a falling object's track: the gravity fit and the release point.

Pure functions on arrays, so they are tested on their own. Heights are metres above the
calibrated facade's bottom edge (the facade mapping turns image points into them), times
are seconds. A dropped object obeys h(t) = h_r - g/2 (t - t_r)^2 until drag matters, so
a quadratic fit of h(t) gives its acceleration (close to g for anything dense) and its
vertical speed at the first observation; the release is where that speed was zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

G = 9.81


@dataclass(frozen=True)
class FallFit:
    accel: float  # downward acceleration, m/s^2 (g for a free fall, less with drag)
    accel_se: float  # its standard error
    v_first: float  # downward speed at the first observation, m/s (negative: still rising)
    speed_mean: float  # mean downward speed over the track, m/s
    r2: float  # coefficient of determination of the quadratic fit
    rms: float  # residual RMS, m
    drop: float  # observed fall, first to last point, m

    def release(self, t_first: float, h_first: float) -> tuple[float, float]:
        """Release time and height: back along the fall to zero vertical speed.

        Uses g rather than the fitted acceleration: just after release the object is slow,
        drag is negligible, and g is known exactly while the fit is noisy and biased low by
        drag later in the fall. A track that starts rising (thrown upward) is released at its
        first observation, as its apex is not the release."""
        if self.v_first <= 0:
            return t_first, h_first
        return t_first - self.v_first / G, h_first + self.v_first**2 / (2 * G)


def fit_fall(t: np.ndarray, h: np.ndarray) -> FallFit | None:
    """Least-squares h = c0 + c1 s + c2 s^2 (s = t - t[0]); None for fewer than 4 points."""
    t = np.asarray(t, float)
    h = np.asarray(h, float)
    n = len(t)
    if n < 4 or np.ptp(t) <= 0:
        return None
    s = t - t[0]
    a_mat = np.stack([np.ones(n), s, s * s], 1)
    coef, _res, rank, _sv = np.linalg.lstsq(a_mat, h, rcond=None)
    if rank < 3:
        return None
    resid = h - a_mat @ coef
    ss_res = float(resid @ resid)
    ss_tot = float(((h - h.mean()) ** 2).sum())
    dof = max(1, n - 3)
    sigma2 = ss_res / dof
    cov = sigma2 * np.linalg.pinv(a_mat.T @ a_mat)
    return FallFit(
        accel=float(-2 * coef[2]),
        accel_se=float(2 * np.sqrt(max(cov[2, 2], 0.0))),
        v_first=float(-coef[1]),
        speed_mean=float((h[0] - h[-1]) / (t[-1] - t[0])),
        r2=1.0 - ss_res / ss_tot if ss_tot > 0 else 0.0,
        rms=float(np.sqrt(ss_res / n)),
        drop=float(h[0] - h[-1]),
    )


def fit_line(t: np.ndarray, x: np.ndarray) -> tuple[float, float, float]:
    """x = b0 + b1 (t - t[0]): intercept, slope and residual RMS (horizontal motion is linear)."""
    t = np.asarray(t, float)
    x = np.asarray(x, float)
    s = t - t[0]
    b1, b0 = np.polyfit(s, x, 1) if np.ptp(s) > 0 else (0.0, float(x.mean()))
    rms = float(np.sqrt(np.mean((x - (b0 + b1 * s)) ** 2)))
    return float(b0), float(b1), rms


def predict(t: np.ndarray, x: np.ndarray, y: np.ndarray, t_next: float, gravity_px: float) -> tuple[float, float]:
    """Where a track should be at t_next, in image px: x linear, y under constant acceleration.

    Two points: constant velocity plus the gravity prior `gravity_px` (px/s^2 at that point).
    More: x linear and y quadratic over the last 10 points, so a fast late fall is followed by
    its own acceleration, not an IoU overlap that a small fast object never has."""
    n = len(t)
    if n == 1:
        return float(x[-1]), float(y[-1])
    if n == 2:
        dt = t[1] - t[0]
        vx, vy = (x[1] - x[0]) / dt, (y[1] - y[0]) / dt
        s = t_next - t[1]
        return float(x[1] + vx * s), float(y[1] + vy * s + 0.5 * gravity_px * s * s)
    k = slice(-10, None)
    tt = t[k] - t[k][-1]
    s = t_next - t[k][-1]
    px = np.polyfit(tt, x[k], 1)
    py = np.polyfit(tt, y[k], 2)
    return float(np.polyval(px, s)), float(np.polyval(py, s))


@dataclass(frozen=True)
class Ballistic:
    release_t: float
    release: np.ndarray  # (X, Y, Z) facade metres at the release: along, up, out toward the camera
    velocity: np.ndarray  # at the first observation, m/s
    rms_px: float  # reprojection residual RMS
    t_first: float  # the first observation
    gravity: float = G  # m/s^2 the fit was made under (0: a steady straight motion)

    def release_seen(self) -> bool:
        """Was the release in view, on the calibrated plane? The fit puts it at most SEEN_S
        before the first point, within SEEN_DEPTH_M of the plane. Then the first point's image
        is the release and only its depth along the line of sight is unknown, which is what a
        track tells least; seen from below, a depth error d moves the height by d times the
        tangent of the elevation (3 at 40 m up from 14 m away), so the fit's 0.2 m slips put
        the release 0.5-0.7 m low (drops on bench video: 0.4-0.6 m). The plane, which takes
        the prior depth, names the floor better: without video (bench/thrown_release.py,
        first seen within 0.08 s) 98 % exact against 91 % for the 3-D fit. A release fitted
        well before the first point, or far off the plane, was not seen: the fit stands."""
        return self.release_t >= self.t_first - SEEN_S and abs(float(self.release[2])) <= SEEN_DEPTH_M

    def image(self, camera: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Image px of the fitted motion at times t, through the 3x4 projection it was fitted
        with: where the track's points should lie."""
        s, s_r = np.asarray(t, float) - self.t_first, self.release_t - self.t_first
        pts = self.release + np.outer(s - s_r, self.velocity)
        pts[:, 1] -= self.gravity * (s * s - s_r * s_r) / 2
        proj = np.hstack([pts, np.ones((len(s), 1))]) @ camera.T
        return proj[:, :2] / proj[:, 2:3]

    def fallen(self, t: float) -> float:
        """Metres the thing has fallen below its release by time t, in three dimensions."""
        s = t - self.release_t
        up = float(self.velocity[1]) - self.gravity * (self.release_t - self.t_first)  # vertical speed at the release
        return self.gravity * s * s / 2 - up * s


# What the fit assumes where the track cannot tell: things are let go at the plane the facade was
# calibrated on (the balcony fronts, give or take an arm), and leave it slowly; a toss out at a
# few metres a second shows in a long enough track and overrides the second.
RELEASE_DEPTH_SD_M = 0.2
APPROACH_SD_MPS = 0.3
PIXEL_SD = 1.0  # px: the least scatter the two priors are weighed against (fit_ballistic)
# A release fitted at most this long before the first point was in view (Ballistic.release_seen).
SEEN_S = 0.12
SEEN_DEPTH_M = 2 * RELEASE_DEPTH_SD_M


def fit_ballistic(
    camera: np.ndarray, t: np.ndarray, xy: np.ndarray, iterations: int = 4, gravity: float = G
) -> Ballistic | None:
    """A free fall in three dimensions through image points of a calibrated camera.

    Seen from below, a thing tossed out toward the camera seems on the facade plane to rise and
    then to fall faster than gravity: its depth changes, and the plane cannot show it. With the
    3x4 projection P (Facade.camera_matrix) a fall X(s) = X0 + V s - g s^2/2 (up) gives two
    equations per point, u (p3 . X) = p1 . X and v (p3 . X) = p2 . X, linear in X0 and V; the
    known g fixes the scale. Depth along the line of sight is what the points tell least, so two
    priors (in px-equivalent weight) hold the release near the calibrated plane and the speed
    out of it near zero unless the track insists. Each pass weights the equations by the last
    pass's depths, turning them into pixel residuals, and the priors by the last pass's scatter
    (per axis, at least PIXEL_SD): a blob centroid that wanders 2-3 px (a 6 px flower pot whose
    outline changes) would otherwise outweigh them and slide the release along the line of
    sight, a storey low. The release is where the vertical speed was zero, or the first point
    for a thing still rising there (as FallFit.release). With `gravity` 0 it fits a steady
    straight motion instead, under the same priors: what a track that gravity does not explain
    (a bird's flight) is followed by as well."""
    t = np.asarray(t, float)
    xy = np.asarray(xy, float)
    n = len(t)
    if n < 4:
        return None
    s = t - t[0]
    drop = np.outer(-gravity * s * s / 2, [0.0, 1.0, 0.0])
    depth, s_r, sd = np.ones(n), 0.0, PIXEL_SD
    theta = np.zeros(6)
    for _ in range(iterations):
        w_z, w_v = sd / RELEASE_DEPTH_SD_M, sd / APPROACH_SD_MPS
        rows = (xy[:, :, None] * camera[2][None, None, :] - camera[None, :2, :]) / depth[:, None, None]  # (n, 2, 4)
        a = np.concatenate([rows[:, :, :3], rows[:, :, :3] * s[:, None, None]], 2).reshape(-1, 6)
        b = (-rows[:, :, 3] - np.einsum("nkj,nj->nk", rows[:, :, :3], drop)).reshape(-1)
        prior = np.array([[0, 0, w_z, 0, 0, w_z * s_r], [0, 0, 0, 0, 0, w_v]])
        theta = np.linalg.lstsq(np.vstack([a, prior]), np.concatenate([b, [0.0, 0.0]]), rcond=None)[0]
        pts = theta[:3] + np.outer(s, theta[3:]) + drop
        proj = np.hstack([pts, np.ones((n, 1))]) @ camera.T
        depth = proj[:, 2]
        if (depth <= 0).any():
            return None
        s_r = min(0.0, theta[4] / gravity) if gravity > 0 else 0.0
        rms = float(np.sqrt(np.mean(np.sum((proj[:, :2] / depth[:, None] - xy) ** 2, 1))))
        sd = max(PIXEL_SD, rms / np.sqrt(2))  # per axis: the priors weigh against the track's own scatter
    x0, v = theta[:3], theta[3:]
    release = x0 + v * s_r + np.array([0.0, -gravity * s_r * s_r / 2, 0.0])
    return Ballistic(float(t[0] + s_r), release, v, rms, float(t[0]), gravity)
