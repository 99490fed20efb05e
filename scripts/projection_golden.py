#!/usr/bin/env python3
"""Golden values for Tessera's aircraft -> camera projection, computed independently of
the Rust code with pyproj (geodetic -> ECEF) and OpenCV (cv2.projectPoints).

    pip install pyproj opencv-python-headless numpy     (made with pyproj 3.8.0 /
                                                          PROJ 9.8.1, OpenCV 5.0.0)
    python3 scripts/projection_golden.py [OUT_DIR]      (default tests/fixtures/projection)

Writes cam_a.toml, cam_b.toml, cam_c.toml and golden.json, a list of
{"camera", "lat", "lon", "height_m", "range_m", "in_front", "u", "v"}; u and v are null
only when the aircraft is not in front of the camera (z <= 0), and are given for points
outside the image too.  The cases are random (fixed seed) with quotas per camera: in
the image, in front but outside it, and behind.

The definition (the camera TOML keys are flat: lat_deg, lon_deg, height_m, yaw_deg,
pitch_deg, roll_deg, width, height, fx, fy, cx, cy, k1, k2, p1, p2, k3, clock_offset_s,
max_range_m): WGS-84 ellipsoidal geodetic -> ECEF (EPSG:4979 -> EPSG:4978) -> ENU at
the camera, d = aircraft - camera.  In ENU, forward f = (sin y cos p, cos y cos p,
sin p), right r0 = (cos y, -sin y, 0), up u0 = r0 x f; roll: r = r0 cos R - u0 sin R,
u = u0 cos R + r0 sin R.  Camera coordinates x = d.r, y = -d.u, z = d.f; in front iff
z > 0; OpenCV Brown-Conrady distortion (k1, k2, p1, p2, k3) on (x/z, y/z); pixel
(fx x' + cx, fy y' + cy); range_m = |d|.

Here the ENU -> camera rotation is built instead from elementary rotations,
Rz(-yaw) Rx(pitch) Ry(roll) applied to a level, north-looking camera, and the script
checks that it equals the vector definition above.  It also checks pyproj against the
closed-form ECEF formula and cv2 against the distortion polynomial written out, and
prints the largest differences.
"""
import json
import math
import os
import sys
import tomllib

import cv2
import numpy as np
from pyproj import Transformer

CAMERAS = {
    # Sky-facing camera near Boston, modest distortion.
    "cam_a.toml": dict(lat_deg=42.36, lon_deg=-71.06, height_m=18.5, yaw_deg=30.0,
                       pitch_deg=35.0, roll_deg=0.0, width=1920, height=1080,
                       fx=1400.0, fy=1400.0, cx=960.5, cy=540.25, k1=-0.05, k2=0.01,
                       p1=0.0005, p2=-0.0003, k3=0.0, clock_offset_s=0.0,
                       max_range_m=50000.0),
    # Rolled 15 deg, looking north-west, strong barrel distortion.
    "cam_b.toml": dict(lat_deg=48.3538, lon_deg=11.7861, height_m=495.0, yaw_deg=300.0,
                       pitch_deg=20.0, roll_deg=15.0, width=1280, height=720,
                       fx=800.0, fy=805.0, cx=641.5, cy=358.0, k1=-0.3, k2=0.12,
                       p1=0.001, p2=-0.002, k3=-0.02, clock_offset_s=-1.25,
                       max_range_m=60000.0),
    # High latitude, negative longitude, nearly vertical.
    "cam_c.toml": dict(lat_deg=69.2167, lon_deg=-51.0986, height_m=62.0, yaw_deg=45.0,
                       pitch_deg=80.0, roll_deg=-5.0, width=2448, height=2048,
                       fx=1200.0, fy=1198.5, cx=1224.0, cy=1023.5, k1=-0.1, k2=0.02,
                       p1=-0.0004, p2=0.0002, k3=-0.003, clock_offset_s=2.5,
                       max_range_m=40000.0),
}
QUOTA = {"in_image": 16, "off_image": 12, "behind": 12}
TO_ECEF = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
WGS84_A, WGS84_F = 6378137.0, 1 / 298.257223563
checks = {"rotation": 0.0, "ecef_m": 0.0, "pixel": 0.0}


def ecef(lat, lon, h):
    x, y, z = TO_ECEF.transform(lon, lat, h)
    # Cross-check with the closed form.
    e2 = WGS84_F * (2 - WGS84_F)
    p, l = math.radians(lat), math.radians(lon)
    n = WGS84_A / math.sqrt(1 - e2 * math.sin(p) ** 2)
    cf = ((n + h) * math.cos(p) * math.cos(l), (n + h) * math.cos(p) * math.sin(l),
          (n * (1 - e2) + h) * math.sin(p))
    checks["ecef_m"] = max(checks["ecef_m"], max(abs(a - b) for a, b in zip((x, y, z), cf)))
    return np.array([x, y, z])


def enu_basis(lat, lon):
    """Rows: east, north, up unit vectors in ECEF."""
    p, l = math.radians(lat), math.radians(lon)
    return np.array([
        [-math.sin(l), math.cos(l), 0.0],
        [-math.sin(p) * math.cos(l), -math.sin(p) * math.sin(l), math.cos(p)],
        [math.cos(p) * math.cos(l), math.cos(p) * math.sin(l), math.sin(p)],
    ])


def rot(axis, a):
    c, s = math.cos(a), math.sin(a)
    return {"x": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
            "y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
            "z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])}[axis]


def enu_to_cam(cam):
    y, p, r = (math.radians(cam[k]) for k in ("yaw_deg", "pitch_deg", "roll_deg"))
    # Columns: the camera's right, up, forward axes in ENU.  Level, north-looking camera:
    # right = east, up = up, forward = north.  Roll about forward (ENU y at that stage),
    # then pitch about right (x), then yaw clockwise about up (-z).
    axes0 = np.array([[1.0, 0, 0], [0, 0, 1], [0, 1, 0]]).T
    axes = rot("z", -y) @ rot("x", p) @ rot("y", r) @ axes0
    m = np.diag([1.0, -1.0, 1.0]) @ axes.T  # rows: r, -u, f
    # Check against the vector definition.
    f = np.array([math.sin(y) * math.cos(p), math.cos(y) * math.cos(p), math.sin(p)])
    r0 = np.array([math.cos(y), -math.sin(y), 0.0])
    u0 = np.cross(r0, f)
    rr, uu = r0 * math.cos(r) - u0 * math.sin(r), u0 * math.cos(r) + r0 * math.sin(r)
    checks["rotation"] = max(checks["rotation"], np.abs(m - np.array([rr, -uu, f])).max())
    return m


def project(cam, lat, lon, h):
    """(range_m, in_front, u, v) for one aircraft."""
    d = enu_basis(cam["lat_deg"], cam["lon_deg"]) @ (
        ecef(lat, lon, h) - ecef(cam["lat_deg"], cam["lon_deg"], cam["height_m"]))
    R = enu_to_cam(cam)
    z = float(R[2] @ d)
    if not z > 0:
        return float(np.linalg.norm(d)), False, None, None
    K = np.array([[cam["fx"], 0, cam["cx"]], [0, cam["fy"], cam["cy"]], [0, 0, 1.0]])
    dist = np.array([cam[k] for k in ("k1", "k2", "p1", "p2", "k3")], dtype=float)
    rvec, _ = cv2.Rodrigues(R)
    px, _ = cv2.projectPoints(d.reshape(1, 1, 3), rvec, np.zeros(3), K, dist)
    u, v = (float(t) for t in px[0, 0])
    # Cross-check with the polynomial written out.
    x, y = (R[0] @ d) / z, (R[1] @ d) / z
    r2 = x * x + y * y
    k = 1 + dist[0] * r2 + dist[1] * r2 ** 2 + dist[4] * r2 ** 3
    xd = x * k + 2 * dist[2] * x * y + dist[3] * (r2 + 2 * x * x)
    yd = y * k + dist[2] * (r2 + 2 * y * y) + 2 * dist[3] * x * y
    err = max(abs(u - (cam["fx"] * xd + cam["cx"])), abs(v - (cam["fy"] * yd + cam["cy"])))
    checks["pixel"] = max(checks["pixel"], err / max(1.0, abs(u), abs(v)))
    return float(np.linalg.norm(d)), True, u, v


def geodetic_from_enu(cam, e):
    c = ecef(cam["lat_deg"], cam["lon_deg"], cam["height_m"])
    x, y, z = c + enu_basis(cam["lat_deg"], cam["lon_deg"]).T @ e
    lon, lat, h = TO_ECEF.transform(x, y, z, direction="INVERSE")
    return lat, lon, h


def cases_for(name, cam, rng):
    want = dict(QUOTA)
    out = []
    R = enu_to_cam(cam)
    K = np.array([[cam["fx"], 0, cam["cx"]], [0, cam["fy"], cam["cy"]], [0, 0, 1.0]])
    dist = np.array([cam[k] for k in ("k1", "k2", "p1", "p2", "k3")], dtype=float)
    for _ in range(200000):
        if not any(want.values()):
            break
        if want["in_image"] and rng.random() < 0.5:
            # Aim at a random pixel: undistort it to a ray, go 1-60 km along it.
            pix = np.array([[[rng.uniform(0, cam["width"]), rng.uniform(0, cam["height"])]]])
            x, y = cv2.undistortPoints(pix, K, dist)[0, 0]
            ray = R.T @ np.array([x, y, 1.0])
            lat, lon, h = geodetic_from_enu(cam, ray / np.linalg.norm(ray) * rng.uniform(1e3, 6e4))
        else:
            a, s = rng.uniform(0, 2 * math.pi), rng.uniform(1e3, 6e4)
            h = rng.uniform(300, 12000)
            lat, lon, _ = geodetic_from_enu(cam, np.array([s * math.sin(a), s * math.cos(a), 0.0]))
        if not 300 <= h <= 12000:
            continue
        rng_m, front, u, v = project(cam, lat, lon, h)
        if not 1e3 <= rng_m <= 6e4:
            continue
        kind = ("behind" if not front else
                "in_image" if 0 <= u < cam["width"] and 0 <= v < cam["height"] else "off_image")
        if want[kind]:
            want[kind] -= 1
            out.append({"camera": name, "lat": lat, "lon": lon, "height_m": h,
                        "range_m": rng_m, "in_front": front, "u": u, "v": v})
    assert not any(want.values()), f"{name}: could not fill {want}"
    return out


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "projection")
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(20250522)
    golden = []
    for name, cam in CAMERAS.items():
        path = os.path.join(out_dir, name)
        with open(path, "w") as f:
            f.write("# Projection test camera (scripts/projection_golden.py)\n")
            for k, v in cam.items():
                f.write(f"{k} = {v!r}\n")
        with open(path, "rb") as f:
            cam = tomllib.load(f)  # use exactly what the TOML says
        golden += cases_for(name, cam, rng)
    with open(os.path.join(out_dir, "golden.json"), "w") as f:
        f.write("[\n" + ",\n".join(json.dumps(c) for c in golden) + "\n]\n")
    print(f"{len(golden)} cases; max |rotation - vector definition| = {checks['rotation']:.3g}, "
          f"max |pyproj - closed form ECEF| = {checks['ecef_m']:.3g} m, "
          f"max relative |cv2 - polynomial| pixel = {checks['pixel']:.3g}")
    assert checks["rotation"] < 1e-12 and checks["ecef_m"] < 1e-6 and checks["pixel"] < 1e-9


if __name__ == "__main__":
    main()
