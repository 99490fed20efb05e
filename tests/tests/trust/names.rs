//! Names are bounded at every door, and the window survives whatever is already stored
//! (issue 17, item 1). A name is 1 … 255 bytes of printable UTF-8, a note at most 4096 bytes
//! (`tessera_storage::names`); an `events ingest` line is at most 1 MiB. Refusals are one
//! line naming the file and line (or the field), exit 1, and write nothing; `tessera
//! screenshot` exits 0 on archives holding huge names (written before the rule) and on ones
//! holding many distinct names the rule accepts.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use tessera_tests::tessera;

/// 2023-11-14T22:13:20Z in seconds.
const T: i64 = 1_700_000_000;

fn line(camera: &str, class: &str, first_s: i64) -> String {
    serde_json::json!({"camera": camera, "class": class, "first_ms": first_s * 1000, "last_ms": first_s * 1000 + 4000})
        .to_string()
}

/// Every event of `camera` as (class, first_ms).
fn events(archive: &str, camera: &str) -> Vec<(String, i64)> {
    let list = tessera(&[
        "events",
        "list",
        "--archive",
        archive,
        "--camera",
        camera,
        "--from",
        "0",
        "--to",
        "9999999999999999",
        "--json",
    ])
    .json();
    list["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["class"].as_str().unwrap().to_string(), e["first_ms"].as_i64().unwrap()))
        .collect()
}

fn ingest(archive: &str, file: &Path, lines: &[String]) -> tessera_tests::Run {
    std::fs::write(file, lines.join("\n")).unwrap();
    tessera(&["events", "ingest", "--archive", archive, file.to_str().unwrap()])
}

#[test]
fn ingest_refuses_long_and_unprintable_names_and_long_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().to_str().unwrap();
    let file = tmp.path().join("tracks.jsonl");
    let longest = "c".repeat(255);
    let run = ingest(a, &file, &[line("cam-1", "person", T), line("cam-1", &longest, T + 10)]);
    assert_eq!(run.code, 0, "255 bytes is a name: {run:?}");
    let before = events(a, "cam-1");
    let tile = |a: &str| {
        tessera(&["tiles", "get", "--archive", a, "--camera", "cam-1", "--level", "12", "--index", "0", "--json"])
    };
    let tile_before = tile(a);
    assert_eq!(tile_before.code, 0, "{tile_before:?}");

    let good = line("cam-2", "car", T);
    let four_mb = "x".repeat(4 << 20);
    for (bad, needle) in [
        (line("cam-2", &"c".repeat(256), T), "line 2: class is 256 bytes, longer than the 255-byte maximum"),
        (line(&"k".repeat(300), "car", T), "line 2: camera is 300 bytes"),
        (line("cam-2", "car\nnext", T), "line 2: class holds the unprintable character U+000A"),
        (line("cam\u{1b}[2J", "car", T), "line 2: camera holds the unprintable character U+001B"),
        (line("cam-2", "a\u{202E}b", T), "line 2: class holds the unprintable character U+202E"),
        // The 4 MB class: refused before it is parsed.
        (line("cam-2", &four_mb, T), "line 2: longer than the 1048576-byte line limit"),
    ] {
        let run = ingest(a, &file, &[good.clone(), bad, good.clone()]);
        run.assert_clean_error(needle);
        assert!(run.stderr.contains("tracks.jsonl"), "names the file: {}", run.stderr);
        assert!(run.stderr.len() < 300, "never echoes the value: {}", run.stderr.len());
        assert_eq!(events(a, "cam-2"), [], "nothing of the file is stored");
        assert_eq!(events(a, "cam-1"), before);
    }
    // A long line on stdin is refused the same way, without reading it whole.
    let mut child = std::process::Command::new(tessera_tests::tessera_bin())
        .args(["events", "ingest", "--archive", a, "-"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        // 64 MiB of one line; the reader stops after 1 MiB, so the pipe breaks early.
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..64 {
            if stdin.write_all(&chunk).is_err() {
                return false;
            }
        }
        true
    });
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.trim().ends_with("line 1: longer than the 1048576-byte line limit"), "{stderr}");
    assert!(!writer.join().unwrap(), "stopped reading at the limit, not at the end of the input");
    assert_eq!(events(a, "cam-1"), before);
    assert_eq!(tile(a).stdout, tile_before.stdout, "tiles unchanged");
}

#[test]
fn bookmarks_and_streams_refuse_long_or_unprintable_names() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().to_str().unwrap();
    let add = |extra: &[&str]| {
        let mut args = vec!["bookmarks", "add", "--archive", a, "--from", "2026-11-01T11:50:00Z"];
        args.extend_from_slice(extra);
        tessera(&args)
    };
    let kept = add(&["--name", "landing", "--note", "two\nlines are fine"]);
    assert_eq!(kept.code, 0, "{kept:?}");
    let long_name = "n".repeat(256);
    let long_note = "x".repeat(4097);
    let long_camera = "k".repeat(256);
    for (args, needle) in [
        (vec!["--name", &long_name], "bookmark name is 256 bytes, longer than the 255-byte maximum"),
        (vec!["--name", "ok", "--note", &long_note], "bookmark note is 4097 bytes, longer than the 4096-byte maximum"),
        (vec!["--name", "a\nb"], "bookmark name holds the unprintable character U+000A"),
        (vec!["--name", "ok", "--camera", &long_camera], "bookmark camera is 256 bytes"),
        (vec!["--name", "ok", "--note", "bell\u{7}"], "bookmark note holds the unprintable character U+0007"),
    ] {
        let run = add(&args);
        run.assert_clean_error(needle);
        assert!(run.stderr.contains("tessera.sqlite"), "names the file: {}", run.stderr);
    }
    let list = tessera(&["bookmarks", "list", "--archive", a, "--json"]).json();
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["landing"], "nothing refused was stored");

    // Stream names: the same rule (a stream name is also a directory name).
    let h264 = tmp.path().join("none.h264");
    std::fs::write(&h264, b"").unwrap();
    let import = |stream: &str| {
        tessera(&[
            "import",
            "h264",
            "--archive",
            a,
            "--stream",
            stream,
            "--start",
            "2026-11-01T11:50:00Z",
            "--fps",
            "25",
            h264.to_str().unwrap(),
        ])
    };
    import(&"s".repeat(256)).assert_clean_error("--stream: stream name is 256 bytes, longer than the 255-byte maximum");
    import("cam\t1").assert_clean_error("--stream: stream name holds the unprintable character U+0009");
    assert!(!tmp.path().join("fsv").exists(), "nothing written");
}

fn demo(dir: &Path) -> String {
    let d = dir.join("demo");
    let d = d.to_str().unwrap().to_string();
    let run = tessera(&[
        "demo",
        "--dir",
        &d,
        "--hours",
        "0.1",
        "--cameras",
        "1",
        "--no-gui",
        "--no-labels",
        "--no-sky",
        "--end",
        "2026-11-01T12:00:00Z",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    d
}

fn screenshot(archive: &str, at: &str, out: &Path) {
    let run = tessera(&[
        "screenshot",
        "--archive",
        archive,
        "--at",
        at,
        "--out",
        out.to_str().unwrap(),
        "--size",
        "900x600",
        "--utc",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(out.exists());
}

/// An archive written before names were bounded: its classes and a bookmark are 4 MB (put
/// there with SQL, as an old ingest did). Every read answers and the window draws.
#[test]
fn screenshot_survives_huge_names_already_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let d = demo(tmp.path());
    let added = tessera(&["bookmarks", "add", "--archive", &d, "--from", "2026-11-01T11:55:00Z", "--name", "b"]);
    assert_eq!(added.code, 0, "{added:?}");
    {
        let db = rusqlite::Connection::open(Path::new(&d).join("tessera.sqlite")).unwrap();
        let classes: Vec<i64> = db
            .prepare("SELECT DISTINCT class FROM event")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(!classes.is_empty());
        for id in classes {
            let huge = format!("{id}{}", "w".repeat(4 << 20));
            db.execute("UPDATE strings SET value = ?1 WHERE id = ?2", rusqlite::params![huge, id]).unwrap();
        }
        let huge = "b\n".repeat(2 << 20);
        db.execute("UPDATE bookmark SET name = ?1, note = ?1", [huge]).unwrap();
    }
    let list = tessera(&[
        "events",
        "list",
        "--archive",
        &d,
        "--camera",
        "cam-1",
        "--from",
        "2026-11-01T11:50:00Z",
        "--to",
        "2026-11-01T12:00:00Z",
        "--json",
    ]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(list.json()["events"].as_array().is_some_and(|e| !e.is_empty()));
    assert_eq!(tessera(&["bookmarks", "list", "--archive", &d, "--json"]).code, 0);
    screenshot(&d, "2026-11-01T11:58:00Z", &tmp.path().join("app.png"));
}

/// Many distinct names the ingest accepts (each near the 255-byte limit; 64 classes a camera
/// at most): the legend, the pickers and the strips draw a bounded number of them.
#[test]
fn screenshot_survives_many_distinct_long_names() {
    let tmp = tempfile::tempdir().unwrap();
    let d = demo(tmp.path());
    let name = |prefix: &str, i: usize| format!("{prefix}{i:05}{}", "人".repeat(80));
    // 2026-11-01T11:50:00Z, in the demo's last ten minutes.
    let t = 1_793_533_800;
    // cam-1 (the demo's camera, whose video is on screen) gets classes up to its 64.
    let mut lines: Vec<String> = (0..60).map(|i| line("cam-1", &name("class-", i), t + i as i64)).collect();
    // 200 more cameras: more strips than are drawn (64), more classes than the legend shows (256).
    lines.extend((0..200).map(|i| line(&name("cam-", i), &name("class-", 100 + i), t + i as i64)));
    let run = ingest(&d, &tmp.path().join("many.jsonl"), &lines);
    assert_eq!(run.code, 0, "{run:?}");
    screenshot(&d, "2026-11-01T11:50:30Z", &tmp.path().join("app.png"));
}
