//! Queries against an oracle that reads every trajectory of the visited day files (no R-tree,
//! no sidecar) and applies the definition ([`evaluate`]); the engine must give the same
//! answer with and without the sidecar, on stores built around window edges, day boundaries,
//! missing values and duplicate times.

#![allow(clippy::unwrap_used)]

use super::engine::{Connections, RunOptions, Trajectory, run};
use super::points::{self, MISSING, Point};
use super::query::{Bounds, Query, SpaceOp, TextMatch, TimeOp, evaluate};
use super::sidecar::{self, Sidecar};
use super::store::FederStore;
use super::writer::{NewTrajectory, write};
use proptest::prelude::*;
use rusqlite::ToSql;

/// 2025-05-22T20:00:00Z, the representative query's start.
const T0: i64 = 1_747_944_000;

fn oracle(store: &FederStore, q: &Query) -> Vec<Trajectory> {
    let mut out = Vec::new();
    let (meta_sql, meta_params) = q.metadata_sql();
    for day in q.days() {
        let path = store.day_path(day);
        if !path.is_file() {
            continue;
        }
        let conn = store.open_day(day, &path).unwrap();
        let sql = format!(
            "SELECT id, source, source_id, callsign, orig, dest, points FROM trajectories WHERE 1 = 1{meta_sql}"
        );
        let mut stmt = conn.prepare(&sql).unwrap();
        let params: Vec<&dyn ToSql> = meta_params.iter().map(|v| v as &dyn ToSql).collect();
        let mut rows = stmt.query(params.as_slice()).unwrap();
        let mut scratch = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            let header = super::engine::read_header(row, day).unwrap();
            let blob: Vec<u8> = row.get(6).unwrap();
            let Ok(records) = points::payload(&blob, &mut scratch) else { continue };
            let all: Vec<Point> = records.points().collect();
            if let Some(points) = evaluate(q, &all) {
                out.push(Trajectory { points, ..header });
            }
        }
    }
    out.sort_by(|a, b| (a.source, &a.source_id, a.day, a.id).cmp(&(b.source, &b.source_id, b.day, b.id)));
    out
}

fn point(time: i64, lat: f64, lon: f64, alt: f64) -> Point {
    Point { time: time as u32, lon, lat, alt, alt_gnss: MISSING, heading: MISSING, on_ground: false }
}

fn traj(n: usize, callsign: &str, points: Vec<Point>) -> NewTrajectory {
    NewTrajectory {
        source: 1 + (n % 2) as i64,
        source_id: format!("F{n:03}"),
        transponder_id: None,
        orig: (!n.is_multiple_of(3)).then(|| ["KBOS", "KJFK"][n % 2].to_string()),
        dest: Some("KLAX".into()),
        callsign: callsign.to_string(),
        aircraft_type: None,
        points,
    }
}

fn answer(store: &FederStore, q: &Query, sidecar: Option<&Sidecar>) -> Vec<Trajectory> {
    let options = RunOptions { use_sidecar: sidecar.is_some(), threads: 2 };
    let out = run(store, &Connections::default(), sidecar, q, options).unwrap();
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    out.trajectories
}

#[test]
fn float32_rtree_edges_do_not_lose_trajectories() {
    let dir = tempfile::tempdir().unwrap();
    let store = FederStore::open(dir.path()).unwrap();
    // Indexed by feder's float32 R-tree as 1747943808..1747944064.
    let pts = (1_747_944_007..=1_747_944_011).map(|t| point(t, 42.0, -71.0, 30_000.0)).collect();
    write(&store, &[traj(1, "DAL1", pts)]).unwrap();
    for time in [TimeOp::StartsIn, TimeOp::Within, TimeOp::EndsIn, TimeOp::Intersects] {
        let q = Query { from: 1_747_944_007, to: 1_747_944_011, time, ..Query::default() };
        assert_eq!(answer(&store, &q, None).len(), 1, "{time:?}");
    }
    let q = Query { from: 1_747_944_008, to: 1_747_944_100, time: TimeOp::StartsIn, ..Query::default() };
    assert!(answer(&store, &q, None).is_empty(), "exact: it starts before the window");
}

#[test]
fn a_flight_from_the_day_before_is_found_and_empty_results_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let store = FederStore::open(dir.path()).unwrap();
    let midnight = (T0 / 86_400 + 1) * 86_400;
    let overnight = (0..20).map(|i| point(midnight - 300 + i * 30, 42.0 + i as f64 * 0.01, -71.0, 20_000.0)).collect();
    let elsewhere = (0..20).map(|i| point(midnight - 300 + i * 30, 10.0, 10.0, 20_000.0)).collect();
    write(&store, &[traj(1, "DAL1", overnight), traj(2, "DAL2", elsewhere)]).unwrap();
    let q = Query {
        from: midnight + 10,
        to: midnight + 100,
        space: Some(SpaceOp::Crosses),
        bounds: Bounds::from_box(41.0, -72.0, 43.0, -70.0),
        filter_waypoints: true,
        ..Query::default()
    };
    let got = answer(&store, &q, None);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].points.len(), 3); // +30, +60, +90
    // Crosses at any time without filtering: feder's semantics, the whole trajectory.
    let q = Query { filter_waypoints: false, ..q };
    assert_eq!(answer(&store, &q, None)[0].points.len(), 20);
}

#[test]
fn broken_blobs_are_warnings_naming_the_trajectory_on_both_paths() {
    let dir = tempfile::tempdir().unwrap();
    let store = FederStore::open(dir.path()).unwrap();
    let pts: Vec<Point> = (0..10).map(|i| point(T0 + i * 60, 42.0, -71.0, 1000.0)).collect();
    write(&store, &[traj(1, "DAL1", pts.clone()), traj(2, "DAL2", pts)]).unwrap();
    let path = store.day_path(T0 / 86_400);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE trajectories SET points = X'01042240' WHERE id = 2", []).unwrap();
    drop(conn);
    let q = Query { from: T0, to: T0 + 3600, filter_waypoints: true, ..Query::default() };
    let direct = run(&store, &Connections::default(), None, &q, RunOptions::default()).unwrap();
    assert_eq!(direct.trajectories.len(), 1);
    assert_eq!(direct.warnings.len(), 1);
    assert!(direct.warnings[0].contains("trajectory 2 (source_id F002): corrupt LZ4 frame"), "{:?}", direct.warnings);
    sidecar::build(&store, |_| {}).unwrap();
    let s = Sidecar::open(&store).unwrap().unwrap();
    let indexed = run(&store, &Connections::default(), Some(&s), &q, RunOptions::default()).unwrap();
    assert_eq!(indexed.stats.sidecar_days, 1);
    assert_eq!(indexed.trajectories, direct.trajectories);
    assert_eq!(indexed.warnings, direct.warnings);
}

#[test]
fn a_changed_day_file_is_read_directly_until_reindexed() {
    let dir = tempfile::tempdir().unwrap();
    let store = FederStore::open(dir.path()).unwrap();
    let pts = |lat: f64| (0..10).map(|i| point(T0 + i * 60, lat, -71.0, 1000.0)).collect::<Vec<_>>();
    write(&store, &[traj(1, "DAL1", pts(42.0))]).unwrap();
    let report = sidecar::build(&store, |_| {}).unwrap();
    assert_eq!((report.indexed, report.unchanged), (1, 0));
    std::thread::sleep(std::time::Duration::from_millis(20));
    write(&store, &[traj(2, "DAL2", pts(42.1))]).unwrap();
    let s = Sidecar::open(&store).unwrap().unwrap();
    let q = Query { from: T0, to: T0 + 600, filter_waypoints: true, ..Query::default() };
    let out = run(&store, &Connections::default(), Some(&s), &q, RunOptions::default()).unwrap();
    assert_eq!((out.trajectories.len(), out.stats.sidecar_days), (2, 0));
    let report = sidecar::build(&store, |_| {}).unwrap();
    assert_eq!((report.indexed, report.unchanged), (1, 0));
    let report = sidecar::build(&store, |_| {}).unwrap();
    assert_eq!((report.indexed, report.unchanged), (0, 1));
    let s = Sidecar::open(&store).unwrap().unwrap();
    let out = run(&store, &Connections::default(), Some(&s), &q, RunOptions::default()).unwrap();
    assert_eq!((out.trajectories.len(), out.stats.sidecar_days), (2, 1));
}

/// A random trajectory near `T0` and the representative box, sometimes crossing midnight.
fn arb_trajectory() -> impl Strategy<Value = Vec<Point>> {
    let start = prop_oneof![T0 - 600..T0 + 600, T0 + 3000..T0 + 4200, 1_748_044_800i64 - 900..1_748_044_800 + 300];
    (start, proptest::collection::vec((0i64..120, -0.6f64..0.6, -0.8f64..0.8, 0u8..8), 1..40)).prop_map(
        |(t0, steps)| {
            let mut t = t0;
            steps
                .into_iter()
                .map(|(dt, dlat, dlon, flags)| {
                    t += dt;
                    let alt = if flags & 1 == 0 { f64::from(flags) * 5000.0 } else { MISSING };
                    let mut p = point(t, 42.36 + dlat, -71.06 + dlon, alt);
                    if flags & 2 == 0 {
                        p.alt_gnss = 1234.5;
                    }
                    p
                })
                .collect()
        },
    )
}

fn arb_query() -> impl Strategy<Value = Query> {
    let time =
        prop_oneof![Just(TimeOp::Intersects), Just(TimeOp::Within), Just(TimeOp::StartsIn), Just(TimeOp::EndsIn)];
    let space = prop_oneof![Just(None), Just(Some(SpaceOp::Crosses)), Just(Some(SpaceOp::Within))];
    let callsign = prop_oneof![Just(None), Just(Some("DAL*")), Just(Some("dal_")), Just(Some("AAL1"))];
    (
        prop_oneof![T0 - 300..T0 + 300, T0 + 3300..T0 + 3900, 1_748_044_800i64 - 300..1_748_044_800 + 300],
        0i64..4000,
        time,
        space,
        (41.5f64..42.4, 0.05f64..1.0, -71.8f64..-71.0, 0.05f64..1.2),
        proptest::option::of((0.0f64..20_000.0, 0.0f64..20_000.0)),
        callsign,
        any::<bool>(),
    )
        .prop_map(|(from, len, time, space, (lat, dlat, lon, dlon), alt, callsign, filter_waypoints)| {
            let mut bounds =
                if space.is_some() { Bounds::from_box(lat, lon, lat + dlat, lon + dlon) } else { Bounds::default() };
            if let (Some(_), Some((a, b))) = (space, alt) {
                bounds.min_alt = Some(a.min(b));
                bounds.max_alt = Some(a.max(b));
            }
            Query {
                from,
                to: from + len,
                time,
                space,
                bounds,
                callsign: callsign.map(|c| TextMatch(c.to_string())),
                filter_waypoints,
                ..Query::default()
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn engine_and_sidecar_equal_the_oracle(
        trajectories in proptest::collection::vec(arb_trajectory(), 1..12),
        queries in proptest::collection::vec(arb_query(), 6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = FederStore::open(dir.path()).unwrap();
        let callsigns = ["DAL1", "DAL12", "AAL1", "dal9"];
        let ts: Vec<NewTrajectory> =
            trajectories.into_iter().enumerate().map(|(n, pts)| traj(n, callsigns[n % 4], pts)).collect();
        write(&store, &ts).unwrap();
        sidecar::build(&store, |_| {}).unwrap();
        let s = Sidecar::open(&store).unwrap().unwrap();
        for q in &queries {
            q.validate().unwrap();
            let want = oracle(&store, q);
            prop_assert_eq!(&answer(&store, q, None), &want, "direct {:?}", q);
            prop_assert_eq!(&answer(&store, q, Some(&s)), &want, "sidecar {:?}", q);
        }
    }
}

#[test]
fn a_day_the_sidecar_cannot_slot_is_read_directly() {
    let dir = tempfile::tempdir().unwrap();
    let store = FederStore::open(dir.path()).unwrap();
    // Points out of time order: the sidecar's slot runs would reorder them.
    let pts =
        vec![point(T0 + 60, 42.0, -71.0, 1000.0), point(T0, 42.1, -71.0, 1000.0), point(T0 + 30, 42.2, -71.0, 1000.0)];
    write(&store, &[traj(1, "DAL1", pts)]).unwrap();
    let mut lines = Vec::new();
    sidecar::build(&store, |l| lines.push(l.to_string())).unwrap();
    assert!(lines.iter().any(|l| l.contains("read directly")), "{lines:?}");
    let s = Sidecar::open(&store).unwrap().unwrap();
    let q = Query { from: T0, to: T0 + 600, filter_waypoints: true, ..Query::default() };
    let out = run(&store, &Connections::default(), Some(&s), &q, RunOptions::default()).unwrap();
    assert_eq!(out.stats.sidecar_days, 0);
    assert_eq!(out.trajectories, oracle(&store, &q));
    assert_eq!(out.trajectories[0].points.len(), 3);
    let again = sidecar::build(&store, |_| {}).unwrap();
    assert_eq!((again.indexed, again.unchanged), (0, 1), "remembered, not re-read");
}

#[test]
fn a_dropped_duplicate_outside_the_box_does_not_hide_a_within_match() {
    // The index box covers the duplicate (lon −70.49); the points a reader keeps are inside.
    let dir = tempfile::tempdir().unwrap();
    let store = FederStore::open(dir.path()).unwrap();
    let pts = vec![point(T0 + 3000, 42.36, -71.06, 0.0), point(T0 + 3000, 42.36, -70.49, 0.0)];
    write(&store, &[traj(1, "DAL1", pts)]).unwrap();
    let q = Query {
        from: T0,
        to: T0 + 3300,
        space: Some(SpaceOp::Within),
        bounds: Bounds::from_box(41.5, -71.45, 42.42, -70.58),
        ..Query::default()
    };
    let want = oracle(&store, &q);
    assert_eq!(want.len(), 1);
    assert_eq!(answer(&store, &q, None), want);
    sidecar::build(&store, |_| {}).unwrap();
    let s = Sidecar::open(&store).unwrap().unwrap();
    assert_eq!(answer(&store, &q, Some(&s)), want);
}
