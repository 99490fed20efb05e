//! End-to-end: the `tessera skim` contract on an archive with ingested events — segments that
//! tile the range, event spans (with their pre-roll) at `--speed`, the rest at
//! `--quiet-speed`, `review_s`, the filters, one-line errors, and an archive left unchanged.

#![allow(clippy::unwrap_used)]

use tessera_tests::{files_under, tessera};

const T: i64 = 1_700_000_000; // seconds
const S: i64 = 1_000_000; // µs per second

fn line(camera: &str, class: &str, first_s: i64, last_s: i64) -> String {
    format!(r#"{{"camera":"{camera}","class":"{class}","first_ms":{},"last_ms":{}}}"#, first_s * 1000, last_s * 1000)
}

fn archive_dir() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("events.jsonl");
    let lines = [
        line("cam-1", "person", T + 10, T + 40),
        line("cam-1", "car", T + 100, T + 100),
        line("cam-2", "person", T + 200, T + 205),
        line("cam-3", "car", T + 50, T + 60), // not asked for
    ];
    std::fs::write(&input, lines.join("\n")).unwrap();
    let run = tessera(&["events", "ingest", "--archive", tmp.path().to_str().unwrap(), input.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    std::fs::remove_file(&input).unwrap();
    tmp
}

/// `(from_us − T, to_us − T, speed)` per segment, and `review_s`, checking the tiling.
fn segments(plan: &serde_json::Value, from_us: i64, to_us: i64) -> (Vec<(i64, i64, f64)>, f64) {
    let list: Vec<(i64, i64, f64)> = plan["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["from_us"].as_i64().unwrap(), s["to_us"].as_i64().unwrap(), s["speed"].as_f64().unwrap()))
        .collect();
    assert_eq!(list.first().unwrap().0, from_us, "{plan}");
    assert_eq!(list.last().unwrap().1, to_us, "{plan}");
    for pair in list.windows(2) {
        assert_eq!(pair[0].1, pair[1].0, "gap or overlap: {plan}");
        assert_ne!(pair[0].2, pair[1].2, "unmerged: {plan}");
    }
    let review = list.iter().map(|&(a, b, speed)| (b - a) as f64 / speed).sum::<f64>() / 1e6;
    let review_s = plan["review_s"].as_f64().unwrap();
    assert!((review - review_s).abs() < 1e-6, "{review} vs {plan}");
    (list.into_iter().map(|(a, b, s)| (a - T * S, b - T * S, s)).collect(), review_s)
}

#[test]
fn skim_plans_event_spans_at_speed_and_rushes_the_rest() {
    let tmp = archive_dir();
    let a = tmp.path().to_str().unwrap();
    let (from, to) = (T * S, (T + 300) * S);
    let plan = tessera(&[
        "skim",
        "--archive",
        a,
        "--camera",
        "cam-1,cam-2",
        "--from",
        "2023-11-14T22:13:20Z",
        "--to",
        &to.to_string(),
        "--json",
    ])
    .json();
    let (got, review_s) = segments(&plan, from, to);
    // Defaults: 1× on events with 2 s of pre-roll, 32× elsewhere; an event's last detection
    // instant is inside its span.
    assert_eq!(
        got,
        vec![
            (0, 8 * S, 32.0),
            (8 * S, 40 * S + 1, 1.0),
            (40 * S + 1, 98 * S, 32.0),
            (98 * S, 100 * S + 1, 1.0),
            (100 * S + 1, 198 * S, 32.0),
            (198 * S, 205 * S + 1, 1.0),
            (205 * S + 1, 300 * S, 32.0),
        ]
    );
    assert!(review_s < 60.0, "five minutes with 41 s of events: {review_s}");

    // Classes, speeds and the pre-roll from the flags.
    let plan = tessera(&[
        "skim",
        "--archive",
        a,
        "--camera",
        "cam-1,cam-2,cam-3",
        "--from",
        &from.to_string(),
        "--to",
        &to.to_string(),
        "--classes",
        "car",
        "--speed",
        "2",
        "--quiet-speed",
        "16",
        "--pre-roll",
        "500ms",
        "--json",
    ])
    .json();
    let (got, _) = segments(&plan, from, to);
    assert_eq!(
        got,
        vec![
            (0, 49 * S + S / 2, 16.0),
            (49 * S + S / 2, 60 * S + 1, 2.0),
            (60 * S + 1, 99 * S + S / 2, 16.0),
            (99 * S + S / 2, 100 * S + 1, 2.0),
            (100 * S + 1, 300 * S, 16.0),
        ]
    );

    // A camera without events has none: the whole range is quiet.
    let plan = tessera(&[
        "skim",
        "--archive",
        a,
        "--camera",
        "nobody",
        "--from",
        &from.to_string(),
        "--to",
        &to.to_string(),
        "--json",
    ])
    .json();
    assert_eq!(segments(&plan, from, to).0, vec![(0, 300 * S, 32.0)]);
}

/// Readers never write: on an archive the user may not write (run as user nobody when the
/// tests run as root, whom modes do not stop), skim answers and every file stays as it was.
#[test]
fn a_read_only_archive_is_skimmed_and_left_unchanged() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    std::fs::rename(archive_dir().keep(), &archive).unwrap();
    let bin = tmp.path().join("tessera");
    std::fs::copy(tessera_tests::tessera_bin(), &bin).unwrap();
    let mode = |path: &std::path::Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    mode(tmp.path(), 0o755);
    mode(&bin, 0o755);
    for file in files_under(&archive) {
        mode(&file, 0o444);
    }
    mode(&archive, 0o555);
    let snapshot =
        || -> Vec<_> { files_under(&archive).into_iter().map(|p| (std::fs::read(&p).unwrap(), p)).collect() };
    let before = snapshot();
    let root = std::fs::read_to_string("/proc/self/status")
        .is_ok_and(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")));
    let mut command = if root {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(&bin);
        c
    } else {
        std::process::Command::new(&bin)
    };
    let (from, to) = ((T * S).to_string(), ((T + 300) * S).to_string());
    let out = command
        .args([
            "skim",
            "--archive",
            archive.to_str().unwrap(),
            "--camera",
            "cam-1",
            "--from",
            &from,
            "--to",
            &to,
            "--json",
        ])
        .output()
        .expect("setpriv (util-linux) runs");
    let after = snapshot();
    mode(&archive, 0o755);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["segments"].as_array().unwrap().len(), 5, "{plan}");
    assert!(before == after, "skim changed the archive");
}

#[test]
fn bad_skim_input_is_one_line_and_a_nonzero_exit() {
    let tmp = archive_dir();
    let a = tmp.path().to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["skim", "--archive", a, "--camera", "cam-1"];
        args.extend_from_slice(extra);
        tessera(&args)
    };
    let (from, to) = (T * S, (T + 300) * S);
    let (from, to) = (from.to_string(), to.to_string());
    let r = run(&["--from", &to, "--to", &from, "--json"]);
    r.assert_clean_error("--from");
    assert_eq!(r.code, 1);
    run(&["--from", &from, "--to", &from]).assert_clean_error("--from");
    let r = run(&["--from", &from, "--to", &to, "--speed", "0"]);
    r.assert_clean_error("--speed");
    assert_eq!(r.code, 1);
    run(&["--from", &from, "--to", &to, "--quiet-speed", "-4"]).assert_clean_error("--quiet-speed");
    run(&["--from", &from, "--to", &to, "--quiet-speed", "inf"]).assert_clean_error("--quiet-speed");
    let r = run(&["--from", &from, "--to", &to, "--pre-roll", "2x"]);
    r.assert_clean_error("--pre-roll");
    assert_eq!(r.code, 2, "usage");
    run(&["--from", "yesterday", "--to", &to]).assert_clean_error("--from");
    let r = tessera(&["skim", "--archive", "/nonexistent/archive", "--camera", "c", "--from", &from, "--to", &to]);
    r.assert_clean_error("/nonexistent/archive");
    assert_eq!(r.code, 1);
}
