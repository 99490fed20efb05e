//! End-to-end (issue 17): an import never shares time with footage its stream already holds,
//! a stream whose files overlap (cyclops recordings may) never hides the earlier file's
//! pictures, `--fps` is bounded, and a failed import leaves nothing behind.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use tessera_tests::{ffmpeg, files_under, tessera};

const START_US: i64 = 1_700_000_000_000_000;
const SEC: i64 = 1_000_000;

/// `frames` 64x64 frames of an FFmpeg test pattern (`testsrc` or `testsrc2`: different
/// pictures), H.264 baseline with an IDR every 4 frames.
fn clip(dir: &Path, pattern: &str, frames: u32) -> PathBuf {
    let out = dir.join(format!("{pattern}-{frames}.h264"));
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("{pattern}=size=64x64:rate=1"),
        "-frames:v",
        &frames.to_string(),
        "-c:v",
        "libx264",
        "-profile:v",
        "baseline",
        "-x264-params",
        "keyint=4:min-keyint=4:scenecut=0",
        "-pix_fmt",
        "yuv420p",
        "-f",
        "h264",
        out.to_str().unwrap(),
    ]);
    out
}

fn import(archive: &Path, stream: &str, start_us: i64, fps: &str, input: &Path) -> tessera_tests::Run {
    tessera(&[
        "import",
        "h264",
        "--archive",
        archive.to_str().unwrap(),
        "--stream",
        stream,
        "--start",
        &start_us.to_string(),
        "--fps",
        fps,
        input.to_str().unwrap(),
    ])
}

/// The picture displayed at `at_us` as raw I420.
fn frame(archive: &Path, at_us: i64) -> Vec<u8> {
    let out = archive.with_extension(format!("{at_us}.yuv"));
    let run = tessera(&[
        "frame",
        "--archive",
        archive.to_str().unwrap(),
        "--stream",
        "s",
        "--at",
        &at_us.to_string(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "frame at {at_us}: {run:?}");
    std::fs::read(&out).unwrap()
}

/// `export --json` of `[from, to)` (MP4), with the written file.
fn export(archive: &Path, from_us: i64, to_us: i64) -> (serde_json::Value, PathBuf) {
    let out = archive.with_extension(format!("{from_us}-{to_us}.mp4"));
    let run = tessera(&[
        "export",
        "--archive",
        archive.to_str().unwrap(),
        "--stream",
        "s",
        "--from",
        &from_us.to_string(),
        "--to",
        &to_us.to_string(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(run.code, 0, "export {from_us}..{to_us}: {run:?}");
    (run.json(), out)
}

/// Presentation times (s) of an MP4's video packets, as ffprobe reads them.
fn packet_times(mp4: &Path) -> Vec<f64> {
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time", "-of", "csv=p=0"])
        .arg(mp4)
        .output()
        .expect("ffprobe is installed with ffmpeg");
    assert!(out.status.success(), "ffprobe {}", mp4.display());
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.trim().trim_end_matches(',').parse().ok()).collect()
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    files_under(dir).into_iter().map(|p| (p.clone(), std::fs::read(&p).unwrap())).collect()
}

#[test]
fn an_import_overlapping_a_file_is_refused_and_every_earlier_read_still_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    // A 16 s file (frames at 0 … 15 s), then a 20 s clip at +5 s, as in the issue.
    let first = clip(tmp.path(), "testsrc", 16);
    assert_eq!(import(&archive, "s", START_US, "1", &first).code, 0);
    let times: Vec<i64> = [0, 4, 5, 9, 10, 15].iter().map(|s| START_US + s * SEC + 1000).collect();
    let pictures: Vec<Vec<u8>> = times.iter().map(|&t| frame(&archive, t)).collect();
    let (clip_before, _) = export(&archive, START_US + 10 * SEC, START_US + 10 * SEC + 400_000);
    let ls_before = tessera(&["archive", "ls", archive.to_str().unwrap(), "--json"]).stdout;
    let stream_dir = archive.join("fsv/s");
    let files_before = snapshot(&stream_dir);

    let second = clip(tmp.path(), "testsrc2", 20);
    let existing = "1700000000000_video.rf1i";
    // Starting inside the file: refused before anything is read or written.
    let run = import(&archive, "s", START_US + 5 * SEC, "1", &second);
    run.assert_clean_error(existing);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("testsrc2-20.h264") && run.stderr.contains("2023-11-14T22:13:35"), "{run:?}");
    // Starting before it and running into it: refused once its end is known.
    let run = import(&archive, "s", START_US - 10 * SEC, "1", &second);
    run.assert_clean_error(existing);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("overlap"), "{run:?}");
    // Ending exactly on its first frame overlaps too (two pictures at one time).
    let run = import(&archive, "s", START_US - 19 * SEC, "1", &second);
    run.assert_clean_error(existing);

    // Nothing was written, and every read answers as before.
    assert_eq!(snapshot(&stream_dir), files_before, "no file (and no .partial) added or changed");
    for (&t, picture) in times.iter().zip(&pictures) {
        assert!(frame(&archive, t) == *picture, "the picture at {t} changed");
    }
    assert_eq!(export(&archive, START_US + 10 * SEC, START_US + 10 * SEC + 400_000).0, clip_before);
    assert_eq!(tessera(&["archive", "ls", archive.to_str().unwrap(), "--json"]).stdout, ls_before);

    // Into the gap right after it: fine, and the earlier pictures stay.
    assert_eq!(import(&archive, "s", START_US + 16 * SEC, "1", &second).code, 0);
    for (&t, picture) in times.iter().zip(&pictures) {
        assert!(frame(&archive, t) == *picture, "the picture at {t} changed");
    }
}

#[test]
fn overlapping_files_never_hide_the_earlier_files_pictures() {
    // What a cyclops recording may hold (import refuses to make it): A with frames at 0 … 15 s,
    // and B with frames at 5 … 24 s (keyframes at 5, 9, 13, 17, 21 s), in one stream.
    let tmp = tempfile::tempdir().unwrap();
    let (only_a, only_b, both) = (tmp.path().join("only-a"), tmp.path().join("only-b"), tmp.path().join("both"));
    let (first, second) = (clip(tmp.path(), "testsrc", 16), clip(tmp.path(), "testsrc2", 20));
    for (archive, start, input) in
        [(&only_a, START_US, &first), (&only_b, START_US + 5 * SEC, &second), (&both, START_US, &first)]
    {
        assert_eq!(import(archive, "s", start, "1", input).code, 0);
    }
    for file in files_under(&only_b.join("fsv/s")) {
        std::fs::copy(&file, both.join("fsv/s").join(file.file_name().unwrap())).unwrap();
    }
    let at = |s: i64| START_US + s * SEC + 1000;

    // A is shown to its last frame; B from its first keyframe after that (17 s), and A's last
    // picture stays until then.
    for s in [0, 4, 5, 8, 10, 14, 15] {
        assert!(frame(&both, at(s)) == frame(&only_a, at(s)), "A's picture at {s} s is hidden");
    }
    assert!(frame(&both, at(16)) == frame(&only_a, at(15)), "A's last picture stays until B's keyframe");
    for s in [17, 18, 20, 24] {
        assert!(frame(&both, at(s)) == frame(&only_b, at(s)), "B's picture at {s} s");
    }

    // The export inside the overlap: A's frames from its keyframe at 8 s.
    let (inside, _) = export(&both, START_US + 10 * SEC, START_US + 10 * SEC + 400_000);
    assert_eq!((inside["frames"].as_u64(), inside["first_us"].as_i64()), (Some(3), Some(START_US + 8 * SEC)));
    // Across the overlap: 16 frames of A, then B's from 17 s; times only go forward.
    let (across, mp4) = export(&both, START_US, START_US + 30 * SEC);
    assert_eq!(across["frames"].as_u64(), Some(16 + 8), "{across}");
    assert_eq!(across["last_us"].as_i64(), Some(START_US + 24 * SEC));
    let pts = packet_times(&mp4);
    assert_eq!(pts.len(), 24, "{pts:?}");
    assert!(pts.windows(2).all(|w| w[0] < w[1]) && pts[23] <= 24.0, "times jump: {pts:?}");
    // The stream ends at B's last frame.
    let ls = tessera(&["archive", "ls", both.to_str().unwrap(), "--json"]).json();
    assert_eq!(ls["streams"][0]["end_us"].as_i64(), Some(START_US + 24 * SEC));
}

#[test]
fn import_refuses_a_frame_rate_no_camera_records() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    let input = clip(tmp.path(), "testsrc", 4);
    for bad in ["4294967296", "0.0000001", "1001", "1000.5", "1/3601", "0", "2000/1", "1/0", "x"] {
        let run = import(&archive, "s", START_US, bad, &input);
        run.assert_clean_error("--fps");
        assert_eq!(run.code, 1, "{bad}: {run:?}");
        assert!(!archive.exists(), "{bad}: nothing written");
    }
    // The bounds themselves import (4 frames an hour apart are 4 files).
    let run = import(&archive, "slow", START_US, "1/3600", &input);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(files_under(&archive.join("fsv/slow")).len(), 8);
    assert_eq!(import(&archive, "fast", START_US, "1000", &input).code, 0);
}

#[test]
fn a_failed_import_leaves_no_stream_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let garbage = tmp.path().join("garbage.h264");
    std::fs::write(&garbage, b"not an elementary stream at all".repeat(300)).unwrap();
    // A new archive: nothing is left of it.
    let archive = tmp.path().join("new");
    import(&archive, "s", START_US, "25", &garbage).assert_clean_error("garbage.h264");
    assert!(!archive.exists());
    // An existing archive: no new stream directory, the old stream untouched.
    let archive = tmp.path().join("a");
    assert_eq!(import(&archive, "s", START_US, "1", &clip(tmp.path(), "testsrc", 4)).code, 0);
    let before = snapshot(&archive);
    let run = import(&archive, "new-cam", START_US, "25", &garbage);
    run.assert_clean_error("garbage.h264");
    assert_eq!(run.code, 1);
    assert!(!archive.join("fsv/new-cam").exists(), "an empty stream directory is left");
    // A truncated SPS-less stream fails after the writer started: no directory either.
    let no_sps = tmp.path().join("no-sps.h264");
    std::fs::write(&no_sps, [0u8, 0, 0, 1, 0x41, 0x9a, 0x10, 0, 0, 1, 0x41, 0x9a, 0x20]).unwrap();
    import(&archive, "new-cam", START_US, "25", &no_sps).assert_clean_error("SPS");
    assert!(!archive.join("fsv/new-cam").exists(), "an empty stream directory is left");
    assert_eq!(snapshot(&archive), before);
    assert!(files_under(tmp.path()).iter().all(|p| !p.to_string_lossy().ends_with(".partial")));
}

#[test]
fn a_file_whose_header_contradicts_its_name_never_runs_an_export_backwards() {
    // B's frames (5 … 24 s) under a name 2000 s later: listed after A (0 … 15 s), read earlier.
    let tmp = tempfile::tempdir().unwrap();
    let (archive, other) = (tmp.path().join("a"), tmp.path().join("b"));
    assert_eq!(import(&archive, "s", START_US, "1", &clip(tmp.path(), "testsrc", 16)).code, 0);
    assert_eq!(import(&other, "s", START_US + 5 * SEC, "1", &clip(tmp.path(), "testsrc2", 20)).code, 0);
    for file in files_under(&other.join("fsv/s")) {
        let name = file.file_name().unwrap().to_string_lossy().replace("1700000005000_", "1700002000000_");
        std::fs::copy(&file, archive.join("fsv/s").join(name)).unwrap();
    }
    let (summary, mp4) = export(&archive, START_US, START_US + 3000 * SEC);
    let pts = packet_times(&mp4);
    assert_eq!(pts.len() as u64, summary["frames"].as_u64().unwrap());
    assert!(pts.windows(2).all(|w| w[0] < w[1]) && pts[pts.len() - 1] < 30.0, "times jump: {pts:?}");
}
