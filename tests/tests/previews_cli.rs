//! `tessera previews build|get` end to end: counts, reruns, a grown stream, a resumed build,
//! the picture of `get` against `tessera frame`, errors, and a read-only archive read as another
//! user (previews go to the cache directory; the archive's files stay as they were).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use tessera_tests::{ffmpeg, files_under, tessera};

const T0: i64 = 1_700_000_000_000_000;

/// `seconds` of 640×360 x264 at 25 fps with B-frames and 2 s GOPs, detailed and moving (each
/// keyframe looks different).
fn h264(dir: &Path, name: &str, seconds: u32, hue_speed: u32) -> PathBuf {
    let path = dir.join(name);
    let input = format!("testsrc2=size=640x360:rate=25:duration={seconds},hue=H=t*{hue_speed}");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &input,
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-bf",
        "2",
        "-g",
        "50",
        "-keyint_min",
        "50",
        "-sc_threshold",
        "0",
        "-pix_fmt",
        "yuv420p",
        "-f",
        "h264",
        path.to_str().unwrap(),
    ]);
    path
}

fn import(archive: &Path, stream: &str, start_us: i64, file: &Path) -> serde_json::Value {
    let start = start_us.to_string();
    let run = tessera(&[
        "import",
        "h264",
        "--archive",
        archive.to_str().unwrap(),
        "--stream",
        stream,
        "--start",
        &start,
        "--fps",
        "25",
        file.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    run.json()
}

fn build(archive: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["previews", "build", "--archive", archive.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let run = tessera(&args);
    assert_eq!(run.code, 0, "{run:?}");
    let json = run.json();
    assert!(json["seconds"].as_f64().is_some(), "{json}");
    json
}

fn get(archive: &Path, stream: &str, at_us: i64, out: &Path) -> tessera_tests::Run {
    let at = at_us.to_string();
    tessera(&[
        "previews",
        "get",
        "--archive",
        archive.to_str().unwrap(),
        "--stream",
        stream,
        "--at",
        &at,
        "--out",
        out.to_str().unwrap(),
        "--json",
    ])
}

#[test]
fn builds_count_reruns_build_nothing_and_a_grown_stream_only_its_new_part() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("arc");
    let a = h264(dir.path(), "a.h264", 10, 40);
    // Import builds previews of what it imported: keyframes at 0, 2 … 8 s, one 10 s slot.
    assert_eq!(import(&archive, "cam", T0, &a)["previews"], 1);
    assert!(archive.join("previews.sqlite").is_file());
    let first = build(&archive, &["--every", "2s"]);
    assert_eq!((first["streams"].as_u64(), first["previews"].as_u64()), (Some(1), Some(4)), "{first}");
    assert_eq!(build(&archive, &["--every", "2s"])["previews"], 0, "a rerun with nothing new");
    assert_eq!(build(&archive, &[])["previews"], 0, "coarser spacing: every slot has one");
    // The stream grows by a file (20 s on): only its keyframes are previewed.
    let b = h264(dir.path(), "b.h264", 6, 40);
    assert_eq!(import(&archive, "cam", T0 + 20_000_000, &b)["previews"], 1);
    let grown = build(&archive, &["--every", "2s"]);
    assert_eq!((grown["previews"].as_u64(), grown["files_scanned"].as_u64()), (Some(2), Some(1)), "{grown}");
    assert_eq!(build(&archive, &["--every", "0"])["previews"], 0, "every keyframe already has one");
}

#[test]
fn a_killed_build_resumes_without_losing_or_repeating_work() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("arc");
    let video = h264(dir.path(), "a.h264", 8, 40);
    for stream in ["a", "b"] {
        import(&archive, stream, T0, &video);
    }
    let all = build(&archive, &["--stream", "a", "--every", "0"]);
    assert_eq!(all["previews"], 3, "{all}"); // 0 s had one from the import
    // A build killed mid-file has stored previews but not yet marked the file done.
    let db = rusqlite::Connection::open(archive.join("previews.sqlite")).unwrap();
    db.execute("DELETE FROM preview_file", []).unwrap();
    db.execute("DELETE FROM preview WHERE stream = 'a' AND t_us > ?1", [T0 + 4_000_000]).unwrap();
    drop(db);
    let resumed = build(&archive, &["--every", "0"]);
    // Stream a: its 6 s keyframe again; stream b: 2, 4 and 6 s. Nothing stored twice.
    assert_eq!((resumed["streams"].as_u64(), resumed["previews"].as_u64()), (Some(2), Some(4)), "{resumed}");
    assert_eq!(build(&archive, &["--every", "0"])["previews"], 0);
    let db = rusqlite::Connection::open(archive.join("previews.sqlite")).unwrap();
    let n: i64 = db.query_row("SELECT count(*) FROM preview", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 8);
}

/// Mean luma of 8×8 blocks of a picture scaled to `w`×`h`.
fn block_luma(path: &Path, w: u32, h: u32) -> Vec<f64> {
    let img = image::open(path).unwrap().to_luma8();
    let img = image::imageops::resize(&img, w, h, image::imageops::FilterType::Triangle);
    let mut blocks = vec![0.0; 64];
    for (x, y, p) in img.enumerate_pixels() {
        blocks[(y * 8 / h * 8 + x * 8 / w) as usize] += f64::from(p.0[0]) / f64::from(w * h / 64);
    }
    blocks
}

fn mean_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len() as f64
}

#[test]
fn get_writes_the_latest_keyframe_at_or_before_scaled_and_fails_cleanly_without_video() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("arc");
    import(&archive, "cam", T0, &h264(dir.path(), "a.h264", 8, 40));
    build(&archive, &["--every", "0"]);
    let png = dir.path().join("p.png");
    let run = get(&archive, "cam", T0 + 5_500_000, &png);
    assert_eq!(run.code, 0, "{run:?}");
    let json = run.json();
    assert_eq!(
        (json["t_us"].as_i64(), json["width"].as_u64(), json["height"].as_u64()),
        (Some(T0 + 4_000_000), Some(320), Some(180))
    );
    assert_eq!(image::image_dimensions(&png).unwrap(), (320, 180));
    // Its content is that keyframe's picture, scaled (and not its neighbour's).
    let frame = |t: i64, name: &str| {
        let out = dir.path().join(name);
        let at = t.to_string();
        let run = tessera(&[
            "frame",
            "--archive",
            archive.to_str().unwrap(),
            "--stream",
            "cam",
            "--at",
            &at,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(run.code, 0, "{run:?}");
        block_luma(&out, 320, 180)
    };
    let preview = block_luma(&png, 320, 180);
    let same = mean_abs_diff(&preview, &frame(T0 + 4_000_000, "k4.png"));
    let other = mean_abs_diff(&preview, &frame(T0 + 2_000_000, "k2.png"));
    assert!(same < 4.0, "preview vs its keyframe: {same}");
    assert!(other > 2.0 * same, "preview vs another keyframe: {other} (its own: {same})");
    // Exactly at a keyframe: that keyframe.
    assert_eq!(get(&archive, "cam", T0 + 2_000_000, &png).json()["t_us"], T0 + 2_000_000);
    // No video at or before: one line, exit 1, no file.
    let none = dir.path().join("none.png");
    get(&archive, "cam", T0 - 1, &none).assert_clean_error("no video at or before");
    assert!(!none.exists());
    get(&archive, "nope", T0, &none).assert_clean_error("nope");
}

#[test]
fn get_makes_and_stores_a_missing_preview_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("arc");
    // Keyframes at 11, 13, 15 and 17 s: one 10 s slot.
    import(&archive, "cam", T0 + 11_000_000, &h264(dir.path(), "a.h264", 8, 40));
    remove_store(&archive);
    let png = dir.path().join("p.png");
    assert_eq!(get(&archive, "cam", T0 + 16_000_000, &png).json()["t_us"], T0 + 15_000_000, "made now");
    // Stored: later in its slot it answers; before it, the earlier keyframe is made.
    assert_eq!(get(&archive, "cam", T0 + 18_000_000, &png).json()["t_us"], T0 + 15_000_000);
    assert_eq!(get(&archive, "cam", T0 + 12_000_000, &png).json()["t_us"], T0 + 11_000_000);
    let db = rusqlite::Connection::open(archive.join("previews.sqlite")).unwrap();
    let n: i64 = db.query_row("SELECT count(*) FROM preview", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 2, "made on demand and stored");
}

fn remove_store(archive: &Path) {
    for p in files_under(archive) {
        if p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("previews.sqlite")) {
            std::fs::remove_file(p).unwrap();
        }
    }
}

/// Size, modification time and bytes of every file under `dir`.
fn snapshot(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime, Vec<u8>)> {
    files_under(dir)
        .into_iter()
        .map(|p| {
            let m = std::fs::metadata(&p).unwrap();
            let bytes = std::fs::read(&p).unwrap();
            (p, m.len(), m.modified().unwrap(), bytes)
        })
        .collect()
}

fn chmod(path: &Path, mode: &str) {
    let status = std::process::Command::new("chmod").args(["-R", mode]).arg(path).status().unwrap();
    assert!(status.success());
}

#[test]
fn a_read_only_archive_of_another_user_gets_previews_from_the_cache_and_stays_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("arc");
    let video = h264(dir.path(), "a.h264", 6, 40);
    import(&archive, "cam", T0, &video);
    remove_store(&archive); // as a recorder would leave it: none
    let cache = dir.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    // Readable by everyone, writable by no one (root ignores the bits: run as nobody when root).
    chmod(dir.path(), "a+rX");
    chmod(&cache, "a+w");
    chmod(&archive, "a-w");
    let before = snapshot(&archive);
    let root = std::process::Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let run = |args: &[&str]| {
        let mut cmd = if root {
            let mut c = std::process::Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(tessera_tests::tessera_bin());
            c
        } else {
            std::process::Command::new(tessera_tests::tessera_bin())
        };
        let out = cmd.args(args).env("XDG_CACHE_HOME", &cache).env("TESSERA_LOG", "error").output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let png = cache.join("p.png");
    let at = (T0 + 3_000_000).to_string();
    let arc = archive.to_str().unwrap();
    let (code, stdout, stderr) = run(&[
        "previews",
        "get",
        "--archive",
        arc,
        "--stream",
        "cam",
        "--at",
        &at,
        "--out",
        png.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!((json["t_us"].as_i64(), json["width"].as_u64()), (Some(T0 + 2_000_000), Some(320)), "{json}");
    let stores: Vec<_> = files_under(&cache.join("tessera"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "sqlite"))
        .collect();
    assert_eq!(stores.len(), 1, "the preview is stored in the cache: {stores:?}");
    // A build goes there too, and a second get reads it.
    let (code, stdout, stderr) = run(&["previews", "build", "--archive", arc, "--every", "0", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["previews"], 2, "{json}"); // 0 and 4 s (2 s came from the get)
    let (code, stdout, _) = run(&[
        "previews",
        "get",
        "--archive",
        arc,
        "--stream",
        "cam",
        "--at",
        &at,
        "--out",
        png.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains(&(T0 + 2_000_000).to_string()));
    assert!(snapshot(&archive) == before, "the archive's files changed");
    chmod(&archive, "u+w"); // let the temporary directory go
}

/// The GUI's `previews` thread: the nearest keyframe's picture as RGBA, from the store within
/// the tolerance, else decoded (and stored) on demand; no video is `None`, an unknown stream
/// an error value.
#[test]
fn the_previews_thread_answers_the_nearest_keyframe() {
    use std::time::Duration;
    use tessera_engine::previews::{PreviewRequest, start_feed};
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("arc");
    import(&archive, "cam", T0, &h264(dir.path(), "a.h264", 6, 40)); // keyframes 0, 2, 4 s; stored: 0 s
    let feed = start_feed(archive.clone()).unwrap();
    let ask = |stream: &str, t_us: i64, tolerance_us: i64| {
        feed.send(PreviewRequest { stream: stream.into(), t_us, tolerance_us }).unwrap();
        let answer = feed.wait(Duration::from_secs(60)).expect("an answer");
        assert_eq!((answer.request.stream.as_str(), answer.request.t_us), (stream, t_us));
        answer.result
    };
    // Within the tolerance of the stored 0 s preview: that one.
    let image = ask("cam", T0 + 900_000, 1_000_000).unwrap().unwrap();
    assert_eq!((image.t_us, image.width, image.height), (T0, 320, 180));
    assert_eq!(image.rgba.len(), 320 * 180 * 4);
    // Nearest keyframe (2 s) has none: made now, and stored.
    assert_eq!(ask("cam", T0 + 2_600_000, 0).unwrap().unwrap().t_us, T0 + 2_000_000);
    let db = rusqlite::Connection::open(archive.join("previews.sqlite")).unwrap();
    let n: i64 = db.query_row("SELECT count(*) FROM preview", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 2);
    assert_eq!(ask("cam", T0 + 3_100_000, 0).unwrap().unwrap().t_us, T0 + 4_000_000);
    // Before the video, the first keyframe is the nearest; an unknown stream is an error value.
    assert_eq!(ask("cam", T0 - 60_000_000, 0).unwrap().unwrap().t_us, T0);
    assert!(ask("nope", T0, 0).is_err());
}
