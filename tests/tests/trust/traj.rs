//! End-to-end (issue 17, items 7–9): a damaged feder day file costs only itself. `traj query`
//! (with and without the sidecar, before and after `traj index`), `traj index` and `traj
//! project` warn naming the day file and answer from the healthy days, exit 0; the sidecar
//! notices a day file rewritten with the same size and mtime; a window over all of time is
//! clamped to the store's days.

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use tessera_tests::tessera;

/// The damaged day (2025-05-22) and a window over the store's three days.
const DAY: &str = "2025/2025-142.sqlite";
const WINDOW: [&str; 4] = ["--from", "2025-05-21T00:00:00Z", "--to", "2025-05-23T23:59:59Z"];
/// 2025-05-23T21:00:00Z: the damaged day is in the window of a projection then (and the
/// demo camera sees an aircraft of the 23rd).
const AT: &str = "1748034000";
/// Queries with small answers: points near Boston, and whole trajectories crossing it.
const OPS: [&[&str]; 2] = [
    &["--crosses", "--bbox", "41,-73,44,-69", "--filter-waypoints"],
    &["--crosses", "--bbox", "41.9,-71.7,42.8,-70.4"],
];

/// A pristine store of three synthetic days, made once per test.
fn pristine(dir: &Path) -> PathBuf {
    let store = dir.join("pristine");
    let s = store.to_str().unwrap();
    let run = tessera(&["traj", "synth", "--store", s, "--from", "2025-05-21T00:00:00Z", "--flights", "150"]);
    assert_eq!(run.code, 0, "{run:?}");
    store
}

fn copy_store(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_store(&entry.path(), &target);
        } else {
            // Keep the mtime: a copied sidecar still holds for the copied day files.
            std::fs::copy(entry.path(), &target).unwrap();
            let mtime = entry.metadata().unwrap().modified().unwrap();
            std::fs::File::options().write(true).open(&target).unwrap().set_modified(mtime).unwrap();
        }
    }
}

fn query(store: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["traj", "query", "--store", store.to_str().unwrap(), "--json"];
    args.extend_from_slice(&WINDOW);
    args.extend_from_slice(extra);
    let run = tessera(&args);
    assert_eq!(run.code, 0, "{run:?}");
    run.json()
}

fn project(store: &Path, camera: &Path) -> Value {
    let (s, c) = (store.to_str().unwrap(), camera.to_str().unwrap());
    let run = tessera(&["traj", "project", "--store", s, "--camera", c, "--at", AT, "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    run.json()
}

/// Exactly one warning, naming the damaged day file (and `also` in it).
fn assert_one_warning(out: &Value, bad: &Path, also: &str, what: &str) {
    let warnings = out["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{what}: {warnings:?}");
    let w = warnings[0].as_str().unwrap();
    assert!(w.starts_with(&format!("{}: ", bad.display())) && w.contains(also), "{what}: {w}");
}

fn damage(path: &Path, how: &str) {
    let sql = |sql: &str| rusqlite::Connection::open(path).unwrap().execute_batch(sql).unwrap();
    match how {
        "empty" => std::fs::write(path, b"").unwrap(),
        "truncated" => {
            let len = std::fs::metadata(path).unwrap().len();
            std::fs::OpenOptions::new().write(true).open(path).unwrap().set_len(len / 2).unwrap();
        }
        "random bytes" => std::fs::write(
            path,
            (0..50_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect::<Vec<_>>(),
        )
        .unwrap(),
        "dropped R-tree" => sql("DROP TABLE trajectory_index"),
        "corrupt R-tree" => sql("UPDATE trajectory_index_node SET data = X'0001ff'"),
        "directory" => {
            std::fs::remove_file(path).unwrap();
            std::fs::create_dir(path).unwrap();
        }
        _ => unreachable!(),
    }
}

#[test]
fn a_damaged_day_file_is_a_warning_and_the_healthy_days_answer() {
    let dir = tempfile::tempdir().unwrap();
    let pristine = pristine(dir.path());
    // Indexed while healthy: the sidecar must notice the damage, not answer for it.
    assert_eq!(tessera(&["traj", "index", "--store", pristine.to_str().unwrap()]).code, 0);
    let camera = dir.path().join("sky.toml");
    std::fs::write(&camera, tessera_engine::trajectories::projection::DEMO_CAMERA_TOML).unwrap();
    // The answers of the healthy days: the store without the day file.
    let healthy = dir.path().join("healthy");
    copy_store(&pristine, &healthy);
    std::fs::remove_file(healthy.join(DAY)).unwrap();
    let want: Vec<Value> = OPS.iter().map(|op| query(&healthy, op)["trajectories"].clone()).collect();
    let want_aircraft = project(&healthy, &camera)["aircraft"].clone();
    assert!(want.iter().all(|w| w.as_array().unwrap().len() > 50), "{want:?}");
    assert!(!want_aircraft.as_array().unwrap().is_empty());

    for how in ["empty", "truncated", "random bytes", "dropped R-tree", "corrupt R-tree", "directory"] {
        let store = dir.path().join(how.replace(' ', "-"));
        copy_store(&pristine, &store);
        let s = store.to_str().unwrap();
        let bad = store.join(DAY);
        damage(&bad, how);
        // The sidecar answers only OPS[0] (filter_waypoints); OPS[1] and `project` always read
        // the day files, so they are checked once.
        let check = |stage: &str, all: bool| {
            let runs =
                [(OPS[0], &want[0], &[][..]), (OPS[0], &want[0], &["--no-sidecar"][..]), (OPS[1], &want[1], &[])];
            for (op, want, sidecar) in runs.into_iter().take(if all { 3 } else { 1 }) {
                let out = query(&store, &[op, sidecar].concat());
                let what = format!("{how}, {stage}, {op:?} {sidecar:?}");
                assert_eq!(&out["trajectories"], want, "{what}");
                assert_one_warning(&out, &bad, "day file skipped", &what);
                let indexed = if sidecar.is_empty() && op == OPS[0] { 2 } else { 0 };
                assert_eq!(out["sidecar_days"], indexed, "{what}: the healthy days from the sidecar");
            }
            if all {
                let out = project(&store, &camera);
                assert_eq!(out["aircraft"], want_aircraft, "{how}, {stage}: project");
                assert_one_warning(&out, &bad, "day file skipped", &format!("{how}, {stage}: project"));
            }
        };
        check("stale sidecar", true);
        let index = tessera(&["traj", "index", "--store", s, "--json"]);
        assert_eq!(index.code, 0, "{how}: {index:?}");
        assert!(!index.stderr.contains("panicked"), "{index:?}");
        let warning = index.stderr.lines().find(|l| l.starts_with("warning: ")).unwrap_or_default();
        assert!(warning.contains(&*bad.to_string_lossy()), "{how}: {}", index.stderr);
        assert_eq!(index.json()["unchanged"], 2, "{how}: the healthy days stay indexed");
        assert_eq!(index.json()["warnings"].as_array().unwrap().len(), 1, "{how}");
        for suffix in ["-wal", "-shm"] {
            let side = store.join(format!("tessera-traj-index.sqlite{suffix}"));
            assert!(!side.exists(), "{how}: {} left behind", side.display());
        }
        check("after index", false);
    }
}

#[test]
fn a_points_column_of_the_wrong_type_costs_only_its_trajectory() {
    let dir = tempfile::tempdir().unwrap();
    let pristine = pristine(dir.path());
    let whole = query(&pristine, OPS[1]);
    for value in ["'text, not a blob'", "7"] {
        let store = dir.path().join(format!("store-{}", value.len()));
        copy_store(&pristine, &store);
        let bad = store.join(DAY);
        let conn = rusqlite::Connection::open(&bad).unwrap();
        // The first trajectory of the day that the query returns.
        let answered = |source_id: &String| {
            whole["trajectories"].as_array().unwrap().iter().any(|t| t["source_id"] == **source_id)
        };
        let mut stmt = conn.prepare("SELECT id, source_id FROM trajectories ORDER BY id").unwrap();
        let rows: Vec<(i64, String)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap();
        let (id, source_id) = rows.into_iter().find(|(_, s)| answered(s)).unwrap();
        drop(stmt);
        conn.execute(&format!("UPDATE trajectories SET points = {value} WHERE id = {id}"), []).unwrap();
        drop(conn);
        let mut want = whole["trajectories"].as_array().unwrap().clone();
        let before = want.len();
        want.retain(|t| t["source_id"] != source_id.as_str());
        assert_eq!(want.len(), before - 1);
        let also = format!("trajectory {id} (source_id {source_id}): points is");
        for stage in ["direct", "indexed"] {
            if stage == "indexed" {
                let index = tessera(&["traj", "index", "--store", store.to_str().unwrap(), "--json"]);
                assert_eq!((index.code, index.json()["broken"].clone()), (0, 1.into()), "{index:?}");
            }
            for sidecar in [&[][..], &["--no-sidecar"][..]] {
                let out = query(&store, &[OPS[1], sidecar].concat());
                assert_eq!(out["trajectories"].as_array().unwrap(), &want, "{value} {stage} {sidecar:?}");
                assert_one_warning(&out, &bad, &also, &format!("{value} {stage} {sidecar:?}"));
            }
        }
    }
}

#[test]
fn the_sidecar_notices_a_day_file_rewritten_with_the_same_size_and_mtime() {
    let dir = tempfile::tempdir().unwrap();
    let store = pristine(dir.path());
    let day = store.join(DAY);
    let (original, mtime) = (std::fs::read(&day).unwrap(), std::fs::metadata(&day).unwrap().modified().unwrap());
    let restore_mtime = || std::fs::File::options().write(true).open(&day).unwrap().set_modified(mtime).unwrap();
    // Emptied in place (deleted rows keep the file's size), indexed so.
    rusqlite::Connection::open(&day).unwrap().execute_batch("DELETE FROM trajectories").unwrap();
    restore_mtime();
    assert_eq!(std::fs::metadata(&day).unwrap().len(), original.len() as u64);
    assert_eq!(tessera(&["traj", "index", "--store", store.to_str().unwrap()]).code, 0);
    // The rows come back with the same size and mtime.
    std::fs::write(&day, &original).unwrap();
    restore_mtime();
    let direct = query(&store, &[OPS[0], &["--no-sidecar"]].concat());
    let indexed = query(&store, OPS[0]);
    assert_eq!(indexed["trajectories"], direct["trajectories"]);
    assert_eq!(indexed["sidecar_days"], 2, "the rewritten day is read directly");
}

#[test]
fn a_window_over_all_of_time_answers_quickly_from_the_store_s_days() {
    let dir = tempfile::tempdir().unwrap();
    let store = pristine(dir.path());
    let s = store.to_str().unwrap();
    let days = ["--from", "2025-05-19T00:00:00Z", "--to", "2025-05-26T00:00:00Z"];
    let all_time = ["--from", "0", "--to", "9223372036854775807"];
    for indexed in [false, true] {
        if indexed {
            assert_eq!(tessera(&["traj", "index", "--store", s]).code, 0);
        }
        for op in [OPS[0], &["--time", "within", "--within-box", "--bbox", "30,-80,50,-60"][..]] {
            let run = |window: &[&str]| {
                let args = [&["traj", "query", "--store", s, "--json"][..], window, op].concat();
                let started = std::time::Instant::now();
                let run = tessera(&args);
                assert_eq!(run.code, 0, "{run:?}");
                (run.json(), started.elapsed())
            };
            let (want, _) = run(&days);
            let (got, took) = run(&all_time);
            assert!(took.as_secs_f64() < 5.0, "{op:?}: {took:?}");
            assert_eq!(got["trajectories"], want["trajectories"], "{op:?} indexed {indexed}");
            assert_eq!(got["day_files"], 3);
            assert!(got["n_traj"].as_u64().unwrap() > 100, "{}", got["n_traj"]);
        }
    }
}
