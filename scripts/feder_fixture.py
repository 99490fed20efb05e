#!/usr/bin/env python3
"""Write a small feder-format trajectory store for tests (docs/formats/feder-store.md).

Usage:  python3 scripts/feder_fixture.py OUT_DIR        (needs: pip install lz4)

The layout is the one the feder 1.x ingester writes: one SQLite file per UTC day,
{OUT_DIR}/{YYYY}/{YYYY}-{DDD}.sqlite, holding each trajectory in the file of the UTC
date of its first point; the ingester's DDL and journal mode (WAL); points blob =
0x01 + lz4.frame.compress(u16 BE count + 45-byte BE records); R-tree extents as the
ingester computes them (altitude -999999 for both ends when no point has one).
feder's ingester is not importable from the published package, so the bytes are
written here per the spec; when feder is importable the payloads are checked against
feder.common.Point.pack, which is what the ingester calls.

The data is deterministic.  It is built around the reference query (2025-05-22
20:00-21:00Z, the 50 km box around Boston) and covers: day boundaries (day 140..143
files, a flight stored in day 140 that the query's day range misses), missing
alt/alt_gnss/heading, a trajectory with no altitude at all, duplicate times, times
at and next to the window edges (float32 R-tree rounding), a point exactly on the box
edge, a box crossing outside the time window, source 2 (Contrails) data, a NULL
orig, lower-case and '_' metadata for LIKE, ground points, and a day file in 2038
with times on both sides of 2^31.
"""
import os
import sqlite3
import struct
import sys
from datetime import datetime, timezone

import lz4.frame

MISSING = -999999.0
T1, T2 = 1747944000, 1747947600            # 2025-05-22 20:00Z, 21:00Z
BOX = (41.911122, -71.665630, 42.809434, -70.449926)  # min_lat, min_lon, max_lat, max_lon
BOS = (42.360278, -71.057778)
DAY142 = 1747872000                        # 2025-05-22 00:00Z

# The ingester's DDL (apps/feder-ingest writeable_db.py, lz4 era), verbatim.
DDL = [
    """
          CREATE VIRTUAL TABLE IF NOT EXISTS trajectory_index USING rtree(
            id INTEGER PRIMARY KEY,
            min_timestamp, max_timestamp,
            min_latitude, max_latitude,
            min_longitude, max_longitude,
            min_altitude, max_altitude
          )""",
    """
          CREATE TABLE IF NOT EXISTS trajectories (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            source INTEGER NOT NULL,
            source_id TEXT NOT NULL,
            transponder_id TEXT,
            orig TEXT,
            dest TEXT,
            callsign TEXT NOT NULL,
            aircraft_type TEXT,
            points BLOB NOT NULL /* Packed point data. */
          )""",
    """
          CREATE INDEX IF NOT EXISTS trajectory_source_id_index
              ON trajectories(source, source_id)
          """,
]


def line(t0, t1, step, a, b, alt0, alt1, *, alt=True, gnss=True, hdg=True, ground=False):
    """Points every `step` s from t0 to t1 inclusive, moving linearly from a to b.
    A point is (time, lon, lat, alt, alt_gnss, heading, on_ground); None = missing."""
    n = (t1 - t0) // step
    pts = []
    for i in range(n + 1):
        f = i / n if n else 0.0
        lat = a[0] + (b[0] - a[0]) * f
        lon = a[1] + (b[1] - a[1]) * f
        h = alt0 + (alt1 - alt0) * f
        pts.append((t0 + i * step, lon, lat, h if alt else None,
                    h + 85.0 if gnss else None, 123.5 if hdg else None, ground))
    return pts


def flights():
    """(source, source_id, transponder_id, orig, dest, callsign, aircraft_type, points)"""
    north, south = (43.3, -71.0), (41.4, -71.1)
    west, east = (42.3, -72.4), (42.4, -69.8)
    nyc = (40.64, -73.78)
    fl = []
    # In the box during the window, flying out of it to the south.
    fl.append((1, "FA-001", "a1b2c3", "KBOS", "KJFK", "AAL100", "A321",
               line(T1 + 600, T1 + 3000, 60, BOS, south, 3000, 24000)))
    # Overnight 21->22 May (stored in day 141), through the box around 00:30Z.
    fl.append((1, "FA-002", "a1b2c4", "KJFK", "KBOS", "DAL_22", "B738",
               line(DAY142 - 1800, DAY142 + 4200, 60, nyc, north, 30000, 30000)))
    # Crosses the box at 18:00-19:00Z only, then leaves it until 20:30Z: `crosses`
    # ignores time, so feder returns it (with filter_waypoints: 0 points).
    fl.append((1, "FA-003", "a1b2c5", None, "kbos", "UAL3", None,
               line(T1 - 7200, T1 + 1800, 120, west, (42.3, -66.0), 35000, 35000)))
    # No pressure altitude at all (R-tree altitude -999999/-999999), heading missing on
    # every other point, GNSS height present.
    pts = line(T1 + 300, T1 + 2700, 60, (42.0, -71.5), (42.7, -70.6), 0, 0, alt=False)
    pts = [p if i % 2 else p[:5] + (None, p[6]) for i, p in enumerate(pts)]
    fl.append((1, "FA-004", "a1b2c6", "KPVD", "KPWM", "JBU4", "E190", pts))
    # Duplicate times (same second, slightly different fixes), fully inside the box.
    pts = line(T1 + 900, T1 + 1500, 30, (42.2, -71.3), (42.5, -70.8), 8000, 9000)
    dup = []
    for i, p in enumerate(pts):
        dup.append(p)
        if i % 4 == 1:
            dup.append((p[0], p[1] + 0.001, p[2] + 0.001, p[3] + 25.0, None, None, False))
    fl.append((1, "FA-005", "a1b2c7", "KBOS", "KBWI", "SWA5", "B737", dup))
    # 1747944007..1747944011: indexed as 1747943808..1747944064 in float32, so
    # time_starts_in [1747944007, 1747944100] misses it in feder.
    fl.append((1, "FA-006", "a1b2c8", "KBOS", "KBOS", "EDGE1", "C172",
               line(T1 + 7, T1 + 11, 1, (42.30, -71.00), (42.301, -71.0), 1500, 1510)))
    # Ends exactly at t1.
    fl.append((1, "FA-007", "a1b2c9", "KLGA", "KBOS", "EDGE2", "A320",
               line(T1 - 1800, T1, 60, (42.1, -71.4), (42.35, -71.02), 9000, 0)))
    # Starts exactly at t2.
    fl.append((1, "FA-008", "a1b2ca", "KBOS", "KORD", "EDGE3", "A320",
               line(T2, T2 + 1800, 60, BOS, (42.6, -71.6), 0, 15000)))
    # Ends at t1-1: outside the window exactly, inside it after float32 rounding.
    fl.append((1, "FA-009", "a1b2cb", "KEWR", "KBOS", "EDGE4", "A319",
               line(T1 - 1201, T1 - 1, 60, (42.0, -71.3), (42.36, -71.01), 8000, 200)))
    # Contrails API (source 2): heading always missing, on_ground always false.
    fl.append((2, "CA-010", "ab1234", None, None, "N123AB", "PC12",
               line(T1 + 1200, T1 + 2400, 45, (42.6, -70.5), (42.0, -71.6), 11000, 12000,
                    hdg=False)))
    # 46 h "flight" from day 140 into the window: feder visits days 141..143 and misses it.
    fl.append((1, "FA-011", "a1b2cc", "RJAA", "KBOS", "LONG3", "B77W",
               line(DAY142 - 2 * 86400 + 79200, T1 + 1800, 1800, (35.7, 140.4), BOS,
                    38000, 2000)))
    # On the ground at KBOS in the window: alt missing, alt_gnss present.
    fl.append((1, "FA-012", "a1b2cd", "KBOS", "KMIA", "ONGND", "A321",
               line(T1 + 60, T1 + 900, 60, (42.3656, -71.0096), (42.3700, -71.0200), 0, 0,
                    alt=False, ground=True)))
    # In the window, far outside the box.
    fl.append((1, "FA-013", "a1b2ce", "KJFK", "KPHL", "OUTBOX", "E175",
               line(T1 + 300, T1 + 2100, 60, nyc, (39.87, -75.24), 5000, 12000)))
    # Starts exactly at 2025-05-23 00:00Z (day 143 file).
    fl.append((1, "FA-014", "a1b2cf", "KBOS", "KDCA", "LATE", "A320",
               line(DAY142 + 86400, DAY142 + 86400 + 2400, 60, BOS, south, 0, 20000)))
    # 2025-05-22 23:40Z -> 23 May 00:20Z (day 142 file), through the box.
    fl.append((1, "FA-015", "a1b2d0", "KBOS", "CYUL", "MIDNT", "CRJ9",
               line(DAY142 + 86400 - 1200, DAY142 + 86400 + 1200, 60, south, north,
                    12000, 12000)))
    # Entirely inside the box during the window (for spatially_within).
    fl.append((1, "FA-017", "a1b2d2", "KBED", "KBED", "INBOX", "PA28",
               line(T1 + 900, T1 + 2700, 60, (42.47, -71.29), (42.2, -70.9), 2500, 2500)))
    # Touches the box at one point only, exactly on max_lat.
    pts = line(T1 + 1200, T1 + 1440, 60, (43.0, -71.2), (43.0, -70.8), 20000, 20000)
    pts[2] = (pts[2][0], pts[2][1], BOX[2]) + pts[2][3:]
    fl.append((1, "FA-018", "a1b2d3", "KBOS", "KBGR", "EDGEBOX", "DH8D", pts))
    # Across 2^31 = 2038-01-19 03:14:08Z.
    fl.append((1, "FA-019", "a1b2d4", "KBOS", "KJFK", "Y2038", "A20N",
               line(2**31 - 300, 2**31 + 300, 60, BOS, south, 5000, 30000)))
    return fl


def pack_points(pts):
    out = [struct.pack(">H", len(pts))]
    for t, lon, lat, alt, gnss, hdg, gnd in pts:
        out.append(struct.pack(">Lddddd?", t, lon, lat,
                               MISSING if alt is None else alt,
                               MISSING if gnss is None else gnss,
                               MISSING if hdg is None else hdg, gnd))
    return b"".join(out)


def check_with_feder(pts, payload):
    try:
        from feder.common import Point
    except ImportError:
        return
    objs = [Point(datetime.fromtimestamp(p[0], tz=timezone.utc), *p[1:]) for p in pts]
    assert Point.pack(objs) == payload, "payload differs from feder's Point.pack"


def day_path(root, t):
    d = datetime.fromtimestamp(t, tz=timezone.utc)
    return os.path.join(root, f"{d.year:04d}", f"{d.year:04d}-{d.timetuple().tm_yday:03d}.sqlite")


def write_store(root):
    conns = {}
    for source, sid, icao24, orig, dest, callsign, actype, pts in flights():
        path = day_path(root, pts[0][0])
        if path not in conns:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if os.path.exists(path):
                os.remove(path)
            conn = sqlite3.connect(path)
            conn.execute("PRAGMA journal_mode=WAL;")
            for stmt in DDL:
                conn.execute(stmt)
            conns[path] = conn
        conn = conns[path]
        payload = pack_points(pts)
        check_with_feder(pts, payload)
        cur = conn.execute(
            "INSERT INTO trajectories (source, source_id, transponder_id, orig, dest,"
            " callsign, aircraft_type, points) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (source, sid, icao24, orig, dest, callsign, actype,
             b"\x01" + lz4.frame.compress(payload)))
        alts = [p[3] for p in pts if p[3] is not None]
        conn.execute(
            "INSERT INTO trajectory_index (id, min_timestamp, max_timestamp, min_latitude,"
            " max_latitude, min_longitude, max_longitude, min_altitude, max_altitude)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (cur.lastrowid, float(min(p[0] for p in pts)), float(max(p[0] for p in pts)),
             min(p[2] for p in pts), max(p[2] for p in pts),
             min(p[1] for p in pts), max(p[1] for p in pts),
             min(alts) if alts else MISSING, max(alts) if alts else MISSING))
    for conn in conns.values():
        conn.commit()
        conn.close()  # checkpoints and removes the -wal file
    return sorted(conns)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for p in write_store(sys.argv[1]):
        print(p)
