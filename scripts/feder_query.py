#!/usr/bin/env python3
"""Reference peer for `tessera traj query`: runs a FlightQuery with Python feder 1.2.1
and prints the result, and its timing, as JSON.

Install feder (it needs Python >= 3.12; PyPI hides it from older interpreters):

    python3.12 -m venv /tmp/feder-venv
    /tmp/feder-venv/bin/pip install feder==1.2.1    # pulls numpy and lz4

On Python 3.11 instead: `pip install --ignore-requires-python feder==1.2.1`, and put a
sitecustomize.py in the venv's site-packages that defines `itertools.batched` (3.12+)
when it is missing.

Usage (T = integer Unix seconds, UTC):

    /tmp/feder-venv/bin/python scripts/feder_query.py --store DIR --from T --to T \
        [--time intersects|within|starts-in|ends-in] [--crosses | --within-box] \
        [--bbox MIN_LAT,MIN_LON,MAX_LAT,MAX_LON] [--min-alt FT] [--max-alt FT] \
        [--orig X] [--dest X] [--callsign X] [--source N] [--filter-waypoints] \
        [--repeat N] --json

The query is built exactly as feder's own benchmark.py does it (FlightQuery(...).run(),
the object API, i.e. feder.Trajectory/feder.Point), but with timezone-aware UTC
datetimes.  The object API keeps every point, duplicate times included (only feder's
array API, stream_trajectory_arrays, drops repeated times).  It runs once as a warm-up,
then --repeat times; median_ms/min_ms time `list(query.run())` only.

Output: {"n_traj", "n_points", "median_ms", "min_ms", "warnings": [...],
"trajectories": [{"source_id", "callsign", "orig", "dest",
"points": [[time, lon, lat, alt, alt_gnss, heading, on_ground], ...]}]}, with time an
integer, missing alt/alt_gnss/heading as null, on_ground as 0/1, and trajectories
sorted by (source, source_id) (feder's own order depends on thread chunking).
warnings lists Python warnings raised while the query ran.
"""
import argparse
import json
import os
import statistics
import sys
import time
import warnings
from datetime import datetime, timezone

TIME_OPS = {"intersects": "time_intersects", "within": "time_within",
            "starts-in": "time_starts_in", "ends-in": "time_ends_in"}


def build_query(a):
    from feder import DataSource, FlightQuery

    utc = lambda t: datetime.fromtimestamp(t, tz=timezone.utc)  # noqa: E731
    q = getattr(FlightQuery(utc(a.t_from), utc(a.t_to)), TIME_OPS[a.time])()
    if a.crosses:
        q = q.spatially_crosses()
    if a.within_box:
        q = q.spatially_within()
    bounds = {}
    if a.bbox:
        bounds = dict(zip(["min_lat", "min_lon", "max_lat", "max_lon"],
                          (float(x) for x in a.bbox.split(","))))
    if a.min_alt is not None:
        bounds["min_alt"] = a.min_alt
    if a.max_alt is not None:
        bounds["max_alt"] = a.max_alt
    if bounds:
        q = q.with_bounds(**bounds)
    if a.orig is not None:
        q = q.with_orig(a.orig)
    if a.dest is not None:
        q = q.with_dest(a.dest)
    if a.callsign is not None:
        q = q.with_callsign(a.callsign)
    if a.source is not None:
        q = q.from_source(DataSource(a.source))
    if a.filter_waypoints:
        q = q.filter_waypoints()
    return q


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", required=True, help="feder root (becomes FEDER_DATA_DIR)")
    p.add_argument("--from", dest="t_from", type=int, required=True)
    p.add_argument("--to", dest="t_to", type=int, required=True)
    p.add_argument("--time", choices=TIME_OPS, default="intersects")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--crosses", action="store_true")
    g.add_argument("--within-box", action="store_true")
    p.add_argument("--bbox", help="min_lat,min_lon,max_lat,max_lon")
    p.add_argument("--min-alt", type=float)
    p.add_argument("--max-alt", type=float)
    p.add_argument("--orig")
    p.add_argument("--dest")
    p.add_argument("--callsign")
    p.add_argument("--source", type=int, help="DataSource value (1 = FlightAware, 2 = Contrails)")
    p.add_argument("--filter-waypoints", action="store_true")
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--json", action="store_true", help="JSON output (the only format)")
    a = p.parse_args()

    os.environ["FEDER_DATA_DIR"] = a.store  # read by FlightQuery.run()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            q = build_query(a)
            result = list(q.run())  # warm-up
            times = []
            for _ in range(a.repeat):
                t0 = time.perf_counter()
                result = list(q.run())
                times.append((time.perf_counter() - t0) * 1000.0)
        except ValueError as e:  # feder's own query errors (raised lazily, per day file)
            print(f"feder_query: {e}", file=sys.stderr)
            sys.exit(2)

    result.sort(key=lambda t: (t.source.value, t.source_id))
    out = {
        "n_traj": len(result),
        "n_points": sum(len(t.points) for t in result),
        "median_ms": statistics.median(times) if times else None,
        "min_ms": min(times) if times else None,
        "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
        "trajectories": [
            {"source_id": t.source_id, "callsign": t.callsign, "orig": t.orig,
             "dest": t.dest,
             # feder's Point already maps -999999.0 to None.
             "points": [[int(pt.time.timestamp()), pt.lon, pt.lat, pt.alt,
                         pt.alt_gnss, pt.heading, int(pt.on_ground)]
                        for pt in t.points]}
            for t in result
        ],
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
