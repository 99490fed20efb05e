//! End-to-end: `tessera traj query|index|project` (issue 10's contracts) on a feder-format
//! store of synthetic traffic written by `tessera traj synth`.

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::path::Path;
use tessera_tests::tessera;

/// 2025-05-22T20:00:00Z and the representative query's 50 km box around Boston.
const T1: i64 = 1_747_944_000;
const T2: i64 = 1_747_947_600;
const BOX: &str = "41.911122,-71.665630,42.809434,-70.449926";

/// `flights` departures a day on 2025-05-21 … 23 (or only the 22nd, the query's day).
fn synth_days(dir: &Path, flights: usize, three_days: bool) -> String {
    let store = dir.join("store");
    let s = store.to_str().unwrap().to_string();
    let (from, days) = if three_days { ("2025-05-21T00:00:00Z", "3") } else { ("2025-05-22T00:00:00Z", "1") };
    let run =
        tessera(&["traj", "synth", "--store", &s, "--from", from, "--days", days, "--flights", &flights.to_string()]);
    assert_eq!(run.code, 0, "{run:?}");
    s
}

fn synth(dir: &Path, flights: usize) -> String {
    synth_days(dir, flights, true)
}

fn query(store: &str, extra: &[&str]) -> Value {
    let (from, to) = (T1.to_string(), T2.to_string());
    let mut args = vec!["traj", "query", "--store", store, "--from", &from, "--to", &to, "--json"];
    args.extend_from_slice(extra);
    let run = tessera(&args);
    assert_eq!(run.code, 0, "{run:?}");
    run.json()
}

#[test]
fn query_contract_with_and_without_the_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let store = synth(dir.path(), 400);
    let ops: [&[&str]; 5] = [
        &["--crosses", "--bbox", BOX, "--filter-waypoints"],
        &["--crosses", "--bbox", BOX],
        &["--time", "starts-in", "--filter-waypoints"],
        &["--within-box", "--bbox", "30,-80,50,-60", "--time", "within"],
        &["--crosses", "--bbox", BOX, "--filter-waypoints", "--callsign", "DAL*", "--min-alt", "1000"],
    ];
    let direct: Vec<Value> = ops.iter().map(|op| query(&store, op)).collect();
    let index = tessera(&["traj", "index", "--store", &store, "--json"]);
    assert_eq!(index.code, 0, "{index:?}");
    assert_eq!(index.json()["indexed"], 3);
    for (op, direct) in ops.iter().zip(&direct) {
        let indexed = query(&store, op);
        let mut no_sidecar = op.to_vec();
        no_sidecar.push("--no-sidecar");
        let ignored = query(&store, &no_sidecar);
        assert_eq!(indexed["trajectories"], direct["trajectories"], "{op:?}");
        assert_eq!(ignored["trajectories"], direct["trajectories"], "{op:?}");
        assert_eq!(ignored["sidecar_days"], 0);
    }
    // The sidecar answers filter_waypoints queries.
    assert_eq!(query(&store, ops[0])["sidecar_days"], 3);

    let rep = &direct[0];
    let trajectories = rep["trajectories"].as_array().unwrap();
    assert!(trajectories.len() >= 5, "{}", trajectories.len());
    assert_eq!(rep["n_traj"].as_u64().unwrap() as usize, trajectories.len());
    let mut n_points = 0;
    let mut saw_null = false;
    for t in trajectories {
        for key in ["source_id", "callsign", "orig", "dest", "points"] {
            assert!(t.get(key).is_some(), "{key} missing");
        }
        let points = t["points"].as_array().unwrap();
        assert!(!points.is_empty(), "an empty filtered trajectory is not returned");
        n_points += points.len();
        for p in points {
            let p = p.as_array().unwrap();
            assert_eq!(p.len(), 7);
            let time = p[0].as_i64().expect("integer seconds");
            assert!((T1..=T2).contains(&time));
            let (lon, lat) = (p[1].as_f64().unwrap(), p[2].as_f64().unwrap());
            assert!((41.911122..=42.809434).contains(&lat) && (-71.665630..=-70.449926).contains(&lon));
            saw_null |= p[3..6].iter().any(Value::is_null);
            assert!(p[6] == 0 || p[6] == 1);
        }
    }
    assert_eq!(rep["n_points"].as_u64().unwrap() as usize, n_points);
    assert!(saw_null, "missing values come back as null");
    assert!(rep["median_ms"].as_f64().unwrap() > 0.0 && rep["min_ms"].as_f64().unwrap() > 0.0);
    assert!(rep["warnings"].as_array().unwrap().is_empty());

    let repeated = query(&store, &["--crosses", "--bbox", BOX, "--filter-waypoints", "--repeat", "3"]);
    assert_eq!(repeated["runs"], 3);
    assert!(repeated["min_ms"].as_f64().unwrap() <= repeated["median_ms"].as_f64().unwrap());
}

#[test]
fn index_is_incremental() {
    let dir = tempfile::tempdir().unwrap();
    let store = synth(dir.path(), 50);
    let first = tessera(&["traj", "index", "--store", &store, "--json"]);
    assert_eq!((first.json()["indexed"].clone(), first.json()["unchanged"].clone()), (3.into(), 0.into()));
    assert!(first.stderr.contains("indexed 2025-142"), "progress per day file: {}", first.stderr);
    let again = tessera(&["traj", "index", "--store", &store, "--json"]).json();
    assert_eq!((again["indexed"].clone(), again["unchanged"].clone()), (0.into(), 3.into()));
    // Rewrite one day: only it is indexed again.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let run = tessera(&[
        "traj",
        "synth",
        "--store",
        &store,
        "--from",
        "2025-05-22T00:00:00Z",
        "--days",
        "1",
        "--flights",
        "5",
        "--seed",
        "9",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let third = tessera(&["traj", "index", "--store", &store, "--json"]).json();
    assert_eq!((third["indexed"].clone(), third["unchanged"].clone()), (1.into(), 2.into()));
}

#[test]
fn project_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = synth_days(dir.path(), 3000, false);
    let camera = dir.path().join("sky.toml");
    std::fs::write(&camera, tessera_engine::trajectories::projection::DEMO_CAMERA_TOML).unwrap();
    let cam = camera.to_str().unwrap();
    let at = (T1 + 1800).to_string();
    let run = tessera(&["traj", "project", "--store", &store, "--camera", cam, "--at", &at, "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.json();
    assert_eq!(out["at_s"], T1 + 1800);
    let aircraft = out["aircraft"].as_array().unwrap();
    assert!(!aircraft.is_empty());
    let ids: Vec<&str> = aircraft.iter().map(|a| a["source_id"].as_str().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] <= w[1]), "sorted by source_id");
    let mut in_frame = 0;
    for a in aircraft {
        for key in ["source_id", "callsign", "lat", "lon", "height_m", "range_m", "in_front", "in_frame", "u", "v"] {
            assert!(a.get(key).is_some(), "{key} missing");
        }
        assert!(a["range_m"].as_f64().unwrap() <= 60_000.0);
        let front = a["in_front"].as_bool().unwrap();
        assert_eq!(a["u"].is_null(), !front);
        assert_eq!(a["v"].is_null(), !front);
        if a["in_frame"].as_bool().unwrap() {
            in_frame += 1;
            let (u, v) = (a["u"].as_f64().unwrap(), a["v"].as_f64().unwrap());
            assert!(front && (0.0..1920.0).contains(&u) && (0.0..1080.0).contains(&v));
        }
    }
    assert!(in_frame >= 1, "the demo camera sees traffic over Boston");
    // The same answer without the sidecar, and after indexing.
    tessera(&["traj", "index", "--store", &store]);
    let indexed = tessera(&["traj", "project", "--store", &store, "--camera", cam, "--at", &at, "--json"]).json();
    assert_eq!(indexed["aircraft"], out["aircraft"]);
}

#[test]
fn bad_input_is_one_line_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let m = missing.to_str().unwrap();
    let (from, to) = (T1.to_string(), T2.to_string());
    tessera(&["traj", "query", "--store", m, "--from", &from, "--to", &to, "--json"]).assert_clean_error("nope");
    let store = synth(dir.path(), 5);
    tessera(&["traj", "query", "--store", &store, "--from", &to, "--to", &from, "--json"])
        .assert_clean_error("before its start");
    tessera(&["traj", "query", "--store", &store, "--from", &from, "--to", &to, "--bbox", BOX, "--json"])
        .assert_clean_error("no spatial operation");
    tessera(&["traj", "query", "--store", &store, "--from", &from, "--to", &to, "--bbox", "1,2,3", "--crosses"])
        .assert_clean_error("min_lat,min_lon,max_lat,max_lon");
    let both = tessera(&[
        "traj",
        "query",
        "--store",
        &store,
        "--from",
        &from,
        "--to",
        &to,
        "--crosses",
        "--within-box",
        "--bbox",
        BOX,
    ]);
    assert_eq!(both.code, 2, "{both:?}");
    let camera = dir.path().join("bad.toml");
    std::fs::write(&camera, "lat_deg = 42.0\n").unwrap();
    tessera(&["traj", "project", "--store", &store, "--camera", camera.to_str().unwrap(), "--at", &from, "--json"])
        .assert_clean_error("bad.toml");
    // A corrupt blob is a warning naming the trajectory; the rest still answers.
    let day = Path::new(&store).join("2025/2025-142.sqlite");
    let conn = rusqlite::Connection::open(&day).unwrap();
    conn.execute("UPDATE trajectories SET points = X'02' WHERE id = 1", []).unwrap();
    drop(conn);
    let day_window = ["--from", "2025-05-22T00:00:00Z", "--to", "2025-05-22T23:59:59Z"];
    let run = tessera(&[&["traj", "query", "--store", &store, "--json"][..], &day_window[..]].concat());
    let out = run.json();
    let warnings = out["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].as_str().unwrap().contains("trajectory 1 (source_id"), "{warnings:?}");
}

#[test]
fn attach_ties_a_stream_to_a_sky_camera() {
    let dir = tempfile::tempdir().unwrap();
    let store = synth_days(dir.path(), 5, false);
    let archive = dir.path().join("archive");
    let a = archive.to_str().unwrap();
    let run = tessera(&["demo", "--dir", a, "--hours", "0.05", "--cameras", "1", "--no-gui", "--no-sky"]);
    assert_eq!(run.code, 0, "{run:?}");
    let camera = dir.path().join("sky.toml");
    std::fs::write(&camera, tessera_engine::trajectories::projection::DEMO_CAMERA_TOML).unwrap();
    let cam = camera.to_str().unwrap();
    let run = tessera(&["traj", "attach", "--archive", a, "--stream", "cam-1-HD", "--camera", cam, "--store", &store]);
    assert_eq!(run.code, 0, "{run:?}");
    let db = tessera_storage::EventDb::open_read(&archive).unwrap();
    let link = db.sky_link("cam-1-HD").unwrap().expect("stored");
    assert_eq!(link.camera_toml, tessera_engine::trajectories::projection::DEMO_CAMERA_TOML);
    assert_eq!(link.store, Path::new(&store).canonicalize().unwrap());
    assert_eq!(db.sky_link("cam-2-HD").unwrap(), None);
    tessera(&["traj", "attach", "--archive", a, "--stream", "nope", "--camera", cam, "--store", &store])
        .assert_clean_error("no stream \"nope\"");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "lat_deg = \"north\"\n").unwrap();
    tessera(&[
        "traj",
        "attach",
        "--archive",
        a,
        "--stream",
        "cam-1-HD",
        "--camera",
        bad.to_str().unwrap(),
        "--store",
        &store,
    ])
    .assert_clean_error("bad.toml");
}
