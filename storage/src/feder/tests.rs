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

/// Ways a day file is found damaged (issue 17, item 7).
#[derive(Clone, Copy, Debug)]
enum Damage {
    Empty,
    Truncated,
    RandomBytes,
    DroppedRtree,
    CorruptRtree,
    Directory,
}

const DAMAGES: [Damage; 6] = [
    Damage::Empty,
    Damage::Truncated,
    Damage::RandomBytes,
    Damage::DroppedRtree,
    Damage::CorruptRtree,
    Damage::Directory,
];

fn damage(path: &std::path::Path, how: Damage) {
    match how {
        Damage::Empty => std::fs::write(path, b"").unwrap(),
        Damage::Truncated => {
            let len = std::fs::metadata(path).unwrap().len();
            std::fs::OpenOptions::new().write(true).open(path).unwrap().set_len(len / 2).unwrap();
        }
        Damage::RandomBytes => {
            let mut rng = super::synth::Rng::new(3);
            let bytes: Vec<u8> = (0..20_000).map(|_| rng.below(256) as u8).collect();
            std::fs::write(path, bytes).unwrap();
        }
        Damage::DroppedRtree => {
            rusqlite::Connection::open(path).unwrap().execute_batch("DROP TABLE trajectory_index").unwrap();
        }
        Damage::CorruptRtree => {
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.execute_batch("UPDATE trajectory_index_node SET data = X'0001ff'").unwrap();
        }
        Damage::Directory => {
            std::fs::remove_file(path).unwrap();
            std::fs::create_dir(path).unwrap();
        }
    }
}

/// Three day files (T0's day and its neighbours), a few trajectories each.
fn three_days(store: &FederStore) {
    let mut ts = Vec::new();
    for (d, offset) in [-86_400i64, 0, 86_400].into_iter().enumerate() {
        for k in 0..4 {
            let n = d * 10 + k;
            let pts = (0..20).map(|i| point(T0 + offset + i * 60, 42.0 + k as f64 * 0.1, -71.0, 1000.0)).collect();
            ts.push(traj(n, "DAL1", pts));
        }
    }
    write(store, &ts).unwrap();
}

fn wide_query() -> Query {
    Query { from: T0 - 86_400, to: T0 + 86_400 + 3600, filter_waypoints: true, ..Query::default() }
}

#[test]
fn a_damaged_day_file_is_a_warning_and_the_other_days_answer() {
    let q = wide_query();
    // What the healthy days answer: the store without T0's day file.
    let healthy = {
        let dir = tempfile::tempdir().unwrap();
        let store = FederStore::open(dir.path()).unwrap();
        three_days(&store);
        std::fs::remove_file(store.day_path(T0 / 86_400)).unwrap();
        answer(&store, &q, None)
    };
    assert_eq!(healthy.len(), 8);
    for how in DAMAGES {
        let dir = tempfile::tempdir().unwrap();
        let store = FederStore::open(dir.path()).unwrap();
        three_days(&store);
        // Indexed while healthy, so the sidecar holds the day as it was.
        sidecar::build(&store, |_| {}).unwrap();
        let bad = store.day_path(T0 / 86_400);
        damage(&bad, how);
        let check = |out: super::engine::QueryOutput, path: &str| {
            assert_eq!(out.trajectories, healthy, "{how:?} {path}");
            assert_eq!(out.warnings.len(), 1, "{how:?} {path}: {:?}", out.warnings);
            assert!(
                out.warnings[0].starts_with(&format!("{}: day file skipped: ", bad.display())),
                "{:?}",
                out.warnings
            );
        };
        let options = RunOptions { use_sidecar: false, threads: 2 };
        check(run(&store, &Connections::default(), None, &q, options).unwrap(), "direct");
        let stale = Sidecar::open(&store).unwrap().unwrap();
        check(run(&store, &Connections::default(), Some(&stale), &q, RunOptions::default()).unwrap(), "stale sidecar");
        let mut lines = Vec::new();
        let report = sidecar::build(&store, |l| lines.push(l.to_string())).unwrap();
        assert_eq!(report.warnings.len(), 1, "{how:?}: {lines:?}");
        assert!(report.warnings[0].starts_with(&bad.display().to_string()), "{:?}", report.warnings);
        assert!(lines.iter().any(|l| l.starts_with("warning: ") && l.contains(&*bad.to_string_lossy())), "{lines:?}");
        let s = Sidecar::open(&store).unwrap().unwrap();
        let out = run(&store, &Connections::default(), Some(&s), &q, RunOptions::default()).unwrap();
        assert_eq!(out.stats.sidecar_days, 2, "{how:?}: the healthy days stay indexed");
        check(out, "reindexed sidecar");
    }
}

#[test]
fn a_points_column_of_the_wrong_type_is_a_warning_naming_the_trajectory() {
    for value in ["'not a blob'", "42"] {
        let dir = tempfile::tempdir().unwrap();
        let store = FederStore::open(dir.path()).unwrap();
        three_days(&store);
        let q = wide_query();
        let all = answer(&store, &q, None);
        let path = store.day_path(T0 / 86_400);
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(&format!("UPDATE trajectories SET points = {value} WHERE id = 2"), []).unwrap();
        drop(conn);
        let want: Vec<Trajectory> = all.into_iter().filter(|t| !(t.day == T0 / 86_400 && t.id == 2)).collect();
        let direct = run(&store, &Connections::default(), None, &q, RunOptions::default()).unwrap();
        assert_eq!(direct.trajectories, want);
        assert_eq!(direct.warnings.len(), 1, "{:?}", direct.warnings);
        assert!(direct.warnings[0].contains("trajectory 2 (source_id F011): points is"), "{:?}", direct.warnings);
        let report = sidecar::build(&store, |_| {}).unwrap();
        assert_eq!((report.broken, report.warnings.len()), (1, 0));
        let s = Sidecar::open(&store).unwrap().unwrap();
        let indexed = run(&store, &Connections::default(), Some(&s), &q, RunOptions::default()).unwrap();
        assert_eq!(indexed.stats.sidecar_days, 3);
        assert_eq!((indexed.trajectories, indexed.warnings), (direct.trajectories, direct.warnings));
    }
}

#[test]
fn a_day_file_rewritten_with_the_same_size_and_mtime_is_not_answered_from_the_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let store = FederStore::open(dir.path()).unwrap();
    three_days(&store);
    let path = store.day_path(T0 / 86_400);
    let (original, mtime) = (std::fs::read(&path).unwrap(), std::fs::metadata(&path).unwrap().modified().unwrap());
    let restore_mtime = || std::fs::File::options().write(true).open(&path).unwrap().set_modified(mtime).unwrap();
    // Emptied in place: deleted rows leave the file its size.
    rusqlite::Connection::open(&path).unwrap().execute_batch("DELETE FROM trajectories").unwrap();
    restore_mtime();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), original.len() as u64);
    sidecar::build(&store, |_| {}).unwrap();
    // The trajectories come back: same size, same mtime, different content.
    std::fs::write(&path, &original).unwrap();
    restore_mtime();
    let q = wide_query();
    let s = Sidecar::open(&store).unwrap().unwrap();
    let out = run(&store, &Connections::default(), Some(&s), &q, RunOptions::default()).unwrap();
    assert_eq!((out.trajectories.len(), out.stats.sidecar_days), (12, 2));
    assert_eq!(out.trajectories, oracle(&store, &q));
    let report = sidecar::build(&store, |_| {}).unwrap();
    assert_eq!((report.indexed, report.unchanged), (1, 2));
}

#[test]
fn a_window_over_all_of_time_visits_only_the_days_present() {
    let dir = tempfile::tempdir().unwrap();
    let store = FederStore::open(dir.path()).unwrap();
    three_days(&store);
    sidecar::build(&store, |_| {}).unwrap();
    let s = Sidecar::open(&store).unwrap().unwrap();
    let within = Query { from: T0 - 3 * 86_400, to: T0 + 3 * 86_400, ..wide_query() };
    for (from, to) in [(0, i64::MAX), (i64::MIN, i64::MAX), (T0 - 86_400 * 365 * 50, T0 + 86_400 * 365 * 50)] {
        let q = Query { from, to, ..within.clone() };
        let started = std::time::Instant::now();
        let direct = answer(&store, &q, None);
        let indexed = answer(&store, &q, Some(&s));
        assert!(started.elapsed().as_secs_f64() < 2.0, "{from}..{to}: {:?}", started.elapsed());
        assert_eq!(direct, answer(&store, &within, None), "{from}..{to}");
        assert_eq!(indexed, direct, "{from}..{to}");
        assert_eq!(direct.len(), 12);
    }
}

#[test]
fn a_failed_index_run_leaves_no_wal_and_keeps_what_it_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let store = FederStore::open(dir.path()).unwrap();
    three_days(&store);
    damage(&store.day_path(T0 / 86_400), Damage::RandomBytes);
    let report = sidecar::build(&store, |_| {}).unwrap();
    assert_eq!((report.indexed, report.warnings.len()), (2, 1));
    let side = &report.sidecar;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut p = side.as_os_str().to_owned();
        p.push(suffix);
        assert!(!std::path::Path::new(&p).exists(), "{} left behind", p.to_string_lossy());
    }
    let s = Sidecar::open(&store).unwrap().unwrap();
    let out = run(&store, &Connections::default(), Some(&s), &wide_query(), RunOptions::default()).unwrap();
    assert_eq!((out.trajectories.len(), out.stats.sidecar_days, out.warnings.len()), (8, 2, 1));
}

#[test]
fn an_index_run_that_fails_writing_keeps_the_days_before_and_leaves_no_wal() {
    let dir = tempfile::tempdir().unwrap();
    let store = FederStore::open(dir.path()).unwrap();
    three_days(&store);
    let report = sidecar::build(&store, |_| {}).unwrap();
    // All three days change; writing T0's day into the sidecar fails (as a full disk would).
    std::thread::sleep(std::time::Duration::from_millis(20));
    let late =
        |offset: i64| traj(99, "AAL9", (0..5).map(|i| point(T0 + offset + 7200 + i * 60, 42.0, -71.0, 0.0)).collect());
    write(&store, &[late(-86_400), late(0), late(86_400)]).unwrap();
    let conn = rusqlite::Connection::open(&report.sidecar).unwrap();
    conn.execute_batch(&format!(
        "CREATE TRIGGER full BEFORE INSERT ON day_file WHEN NEW.day = {} BEGIN SELECT RAISE(ABORT, 'disk full'); END",
        T0 / 86_400
    ))
    .unwrap();
    drop(conn);
    let err = sidecar::build(&store, |_| {}).unwrap_err();
    assert!(err.to_string().contains("disk full"), "{err}");
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut p = report.sidecar.as_os_str().to_owned();
        p.push(suffix);
        assert!(!std::path::Path::new(&p).exists(), "{} left behind", p.to_string_lossy());
    }
    // The day indexed before the failure is used; the others are read directly.
    let s = Sidecar::open(&store).unwrap().unwrap();
    let q = wide_query();
    let out = run(&store, &Connections::default(), Some(&s), &q, RunOptions::default()).unwrap();
    assert_eq!((out.trajectories.len(), out.stats.sidecar_days), (14, 1));
    assert_eq!(out.trajectories, oracle(&store, &q));
}

/// A damaged R-tree that lists a trajectory twice (found by the property test below with a
/// random seed): `traj index` still succeeds, the day is read directly, the others answer.
#[test]
fn a_trajectory_listed_twice_leaves_its_day_to_the_direct_path() {
    let dir = tempfile::tempdir().unwrap();
    let store = FederStore::open(dir.path()).unwrap();
    three_days(&store);
    let q = wide_query();
    let bad_day = T0 / 86_400;
    let all = answer(&store, &q, None);
    let path = store.day_path(bad_day);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE copy AS SELECT * FROM trajectory_index;
         DROP TABLE trajectory_index;
         ALTER TABLE copy RENAME TO trajectory_index;
         INSERT INTO trajectory_index SELECT * FROM trajectory_index WHERE id = (SELECT min(id) FROM trajectory_index);",
    )
    .unwrap();
    drop(conn);
    let report = sidecar::build(&store, |_| {}).unwrap();
    assert_eq!(report.indexed, 3, "every day is recorded: {report:?}");
    let fresh = Sidecar::open(&store).unwrap().unwrap();
    let out = run(&store, &Connections::default(), Some(&fresh), &q, RunOptions::default()).unwrap();
    let others = |ts: &[Trajectory]| ts.iter().filter(|t| t.day != bad_day).cloned().collect::<Vec<_>>();
    assert_eq!(others(&out.trajectories), others(&all), "the other days answer in full");
}

proptest! {
    // Each case writes three day files and builds the sidecar twice (fsyncs): ~15 s a case.
    #![proptest_config(ProptestConfig::with_cases(4))]
    /// Whatever bytes of a day file are overwritten, nothing panics or fails: queries (direct
    /// and from a stale sidecar) and `traj index` answer, and the other days answer in full.
    #[test]
    fn corrupting_a_day_file_never_costs_the_other_days(
        edits in proptest::collection::vec((0.0f64..1.0, any::<u8>()), 1..40),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = FederStore::open(dir.path()).unwrap();
        three_days(&store);
        sidecar::build(&store, |_| {}).unwrap();
        let q = wide_query();
        let bad_day = T0 / 86_400;
        let others: Vec<Trajectory> = answer(&store, &q, None).into_iter().filter(|t| t.day != bad_day).collect();
        let path = store.day_path(bad_day);
        let mut bytes = std::fs::read(&path).unwrap();
        for (at, b) in edits {
            let i = (at * bytes.len() as f64) as usize;
            bytes[i] = b;
        }
        std::fs::write(&path, &bytes).unwrap();
        let stale = Sidecar::open(&store).unwrap().unwrap();
        sidecar::build(&store, |_| {}).unwrap();
        let fresh = Sidecar::open(&store).unwrap().unwrap();
        for s in [None, Some(&stale), Some(&fresh)] {
            let out = run(&store, &Connections::default(), s, &q, RunOptions::default()).unwrap();
            let got: Vec<Trajectory> = out.trajectories.into_iter().filter(|t| t.day != bad_day).collect();
            prop_assert_eq!(&got, &others);
        }
    }
}
