//! A live archive from outside: `tessera import h264 --realtime` writes at the stream's own
//! pace into files readers follow, so `archive ls` sees the stream's end advance with the wall
//! clock and `tessera frame --at t` finds a picture within a second of its moment; the files
//! are closed cleanly at the end and nothing is written into a later file's time.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tessera_tests::{ffmpeg, tessera, tessera_bin};

/// `seconds` of 320×180 x264 at 25 fps, 1 s GOPs, Baseline (both decoder backends read it).
fn encode(dir: &Path, seconds: u32) -> PathBuf {
    let path = dir.join("live.h264");
    let input = format!("testsrc2=size=320x180:rate=25:duration={seconds}");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &input,
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-profile:v",
        "baseline",
        "-g",
        "25",
        "-pix_fmt",
        "yuv420p",
        "-f",
        "h264",
        path.to_str().unwrap(),
    ]);
    path
}

fn end_us(archive: &str) -> Option<i64> {
    let ls = tessera(&["archive", "ls", archive, "--json"]);
    if ls.code != 0 {
        return None;
    }
    ls.json()["streams"].as_array()?.first()?["end_us"].as_i64()
}

fn now_us() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as i64
}

#[test]
fn a_realtime_import_is_followed_as_it_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let input = encode(tmp.path(), 6);
    let archive = tmp.path().join("a");
    let a = archive.to_str().unwrap();
    let started_us = now_us();
    let child = std::process::Command::new(tessera_bin())
        .args(["import", "h264", "--archive", a, "--stream", "live", "--start", "now", "--fps", "25", "--realtime"])
        .arg(&input)
        .arg("--json")
        .env("TESSERA_LOG", "error")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();

    // While it writes: the stream's end keeps up with the wall clock (within a second), and
    // a picture is there a second after its moment at the latest.
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut framed = 0;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(400));
        let now = now_us();
        let Some(end) = end_us(a) else { continue };
        seen.push(end);
        // The stream's time runs from `now` at the start: when `ls` starts, `end` lags the clock
        // by at most a second.
        assert!(end >= now - 1_000_000, "end {end} lags the clock {now} by over a second");
        assert!(end <= now_us() + 100_000, "nothing is written ahead of its time: {end} vs {now}");
        // The picture of a second ago is there (its moment passed a second ago at least).
        if now - 1_000_000 > started_us + 200_000 {
            let at = (now - 1_000_000).to_string();
            let out = tmp.path().join("f.png");
            let frame =
                tessera(&["frame", "--archive", a, "--stream", "live", "--at", &at, "--out", out.to_str().unwrap()]);
            assert_eq!(frame.code, 0, "the picture of a second ago decodes: {frame:?}");
            framed += 1;
        }
    }
    assert!(seen.len() >= 5 && seen.windows(2).filter(|w| w[1] > w[0]).count() >= 4, "the end advances: {seen:?}");
    assert!(framed >= 3, "pictures decoded while it wrote: {framed}");

    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["access_units"], 150);
    // Closed cleanly: the index's header counts its entries (as a normal import writes it).
    let ls = tessera(&["archive", "ls", a, "--json"]).json();
    let end = ls["streams"][0]["end_us"].as_i64().unwrap();
    let start = ls["streams"][0]["start_us"].as_i64().unwrap();
    // (rf1 ticks are 1/4096 ms: times floor to the tick below.)
    assert!((end - start).abs_diff(5_960_000) < 100, "150 pictures at 25 fps: {}", end - start);
    assert!((start - started_us).abs() < 1_000_000, "--start now: {start} vs {started_us}");
    assert_eq!(ls["problems"].as_array().map(Vec::len), Some(0), "nothing to work around: {ls}");
}

#[test]
fn a_realtime_import_stops_before_a_later_file_and_keeps_what_it_wrote() {
    let tmp = tempfile::tempdir().unwrap();
    let input = encode(tmp.path(), 2);
    let archive = tmp.path().join("a");
    let a = archive.to_str().unwrap();
    let t0 = now_us();
    // A file already in the stream from 1 s after the recorder's start.
    let later = (t0 + 1_000_000).to_string();
    let run = tessera(&[
        "import",
        "h264",
        "--archive",
        a,
        "--stream",
        "s",
        "--start",
        &later,
        "--fps",
        "25",
        input.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let run = tessera(&[
        "import",
        "h264",
        "--archive",
        a,
        "--stream",
        "s",
        "--start",
        &t0.to_string(),
        "--fps",
        "25",
        "--realtime",
        input.to_str().unwrap(),
    ]);
    run.assert_clean_error("would reach");
    let ls = tessera(&["archive", "ls", a, "--json"]).json();
    assert_eq!(ls["streams"][0]["files"], 2, "the recorder's second is kept beside the later file: {ls}");
    assert_eq!(ls["streams"][0]["start_us"].as_i64(), Some(t0));
    let end = ls["streams"][0]["end_us"].as_i64().unwrap();
    assert!(end.abs_diff(t0 + 1_000_000 + 1_960_000) < 100, "the later file ends the stream: {ls}");
}
