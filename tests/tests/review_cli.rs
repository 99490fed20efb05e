//! The review workflow's commands from outside: `tessera screenshot` draws the whole window
//! offscreen at a playhead, `tessera bench ui` times the window's frames, and `tessera
//! bookmarks` keeps named ranges in the archive.

#![allow(clippy::unwrap_used)]

use tessera_tests::tessera;

const END: &str = "2026-11-01T12:00:00Z";

fn demo(dir: &std::path::Path) -> String {
    let d = dir.join("demo");
    let d = d.to_str().unwrap().to_string();
    let run =
        tessera(&["demo", "--dir", &d, "--hours", "0.1", "--cameras", "2", "--no-gui", "--no-labels", "--end", END]);
    assert_eq!(run.code, 0, "{run:?}");
    d
}

#[test]
fn screenshot_draws_the_window_at_a_playhead() {
    let tmp = tempfile::tempdir().unwrap();
    let d = demo(tmp.path());
    let png = tmp.path().join("app.png");
    let run = tessera(&[
        "screenshot",
        "--archive",
        &d,
        "--at",
        "2026-11-01T11:58:00Z",
        "--out",
        png.to_str().unwrap(),
        "--size",
        "900x600",
        "--grid",
        "2",
        "--utc",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let img = image::open(&png).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (900, 600));
    // The window, not a blank: many distinct colours (video, timeline, text).
    let colours: std::collections::HashSet<[u8; 3]> = img.pixels().map(|p| p.0).collect();
    assert!(colours.len() > 500, "{} colours", colours.len());
    assert!(!tmp.path().join("app.png.partial").exists());

    tessera(&["screenshot", "--archive", "/nonexistent", "--at", "0", "--out", "x.png"])
        .assert_clean_error("/nonexistent");
    let bad = tessera(&["screenshot", "--archive", &d, "--at", "0", "--out", "x.png", "--size", "10x10"]);
    assert_eq!(bad.code, 2, "{bad:?}");
}

#[test]
fn bench_ui_reports_frame_times_beside_a_bare_window() {
    let tmp = tempfile::tempdir().unwrap();
    let d = demo(tmp.path());
    let run = tessera(&["bench", "ui", "--archive", &d, "--frames", "12", "--size", "640x400", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let v = run.json();
    assert_eq!(v["frames"], 12);
    for field in ["frame_ms_p50", "frame_ms_p99", "bare_egui_frame_ms_p50", "ui_ms_p99"] {
        assert!(v[field].as_f64().is_some_and(|x| x > 0.0), "{field}: {v}");
    }
    assert!(v["frame_ms_p99"].as_f64() >= v["frame_ms_p50"].as_f64());
    assert_eq!(v["videos"], 2, "a 2×2 grid of the demo's two cameras");
    assert_eq!(v["timelines"], 2);
}

#[test]
fn bookmarks_are_added_listed_and_deleted() {
    let tmp = tempfile::tempdir().unwrap();
    let d = demo(tmp.path());
    let add = |name: &str, from: &str| {
        let run =
            tessera(&["bookmarks", "add", "--archive", &d, "--from", from, "--to", END, "--name", name, "--json"]);
        assert_eq!(run.code, 0, "{run:?}");
        run.json()["id"].as_i64().unwrap()
    };
    let late = add("late", "2026-11-01T11:59:00Z");
    let early = add("early", "2026-11-01T11:55:00Z");
    let list = tessera(&["bookmarks", "list", "--archive", &d, "--json"]).json();
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["early", "late"], "by start time");
    assert_eq!(tessera(&["bookmarks", "delete", "--archive", &d, "--id", &early.to_string()]).code, 0);
    tessera(&["bookmarks", "delete", "--archive", &d, "--id", &early.to_string()]).assert_clean_error("no bookmark");
    let text = tessera(&["bookmarks", "list", "--archive", &d]);
    assert!(text.stdout.contains("late") && !text.stdout.contains("early"), "{text:?}");
    assert_eq!(text.stdout.lines().count(), 1);
    tessera(&["bookmarks", "add", "--archive", &d, "--from", END, "--to", "2026-11-01T11:00:00Z", "--name", "x"])
        .assert_clean_error("end is before its start");
    let _ = late;
}
