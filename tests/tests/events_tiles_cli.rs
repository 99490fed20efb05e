//! End-to-end: `events ingest|list` and `tiles get|rebuild` contracts, all-or-nothing ingest,
//! pinned clocks, and a cyclops recording.

#![allow(clippy::unwrap_used)]

use tessera_tests::tessera;

const T: i64 = 1_700_000_000; // seconds

fn line(camera: &str, class: &str, first_s: i64, last_s: i64) -> String {
    format!(
        r#"{{"camera":"{camera}","class":"{class}","first_ms":{},"last_ms":{},"confidence":0.9,"boxes":[{{"t_ms":{},"x1":1,"y1":2,"x2":30,"y2":40}}]}}"#,
        first_s * 1000,
        last_s * 1000,
        first_s * 1000
    )
}

#[test]
fn ingest_list_and_tiles() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().to_str().unwrap();
    let input = tmp.path().join("events.jsonl");
    let lines = [
        line("cam-1", "person", T + 10, T + 40),
        line("cam-1", "car", T + 5, T + 6),
        line("cam-2", "person", T, T + 1),
        line("cam-1", "person", T + 5000, T + 5001),
    ];
    std::fs::write(&input, lines.join("\n")).unwrap();
    let run = tessera(&["events", "ingest", "--archive", a, input.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");

    let list = tessera(&[
        "events",
        "list",
        "--archive",
        a,
        "--camera",
        "cam-1",
        "--from",
        &((T + 6) * 1_000_000).to_string(),
        "--to",
        "2023-11-14T22:14:00Z",
        "--json",
    ])
    .json();
    let events = list["events"].as_array().unwrap();
    let got: Vec<(&str, i64)> =
        events.iter().map(|e| (e["class"].as_str().unwrap(), e["first_ms"].as_i64().unwrap())).collect();
    assert_eq!(
        got,
        vec![("car", (T + 5) * 1000), ("person", (T + 10) * 1000)],
        "sorted by first_ms, overlap inclusive"
    );
    for e in events {
        for field in ["id", "camera", "class", "first_ms", "last_ms"] {
            assert!(e.get(field).is_some(), "{field} missing in {e}");
        }
        assert_eq!(e["camera"], "cam-1");
    }

    let index = T / 1024;
    let tile = tessera(&[
        "tiles",
        "get",
        "--archive",
        a,
        "--camera",
        "cam-1",
        "--level",
        "0",
        "--index",
        &index.to_string(),
        "--json",
    ])
    .json();
    let start = index * 1024;
    assert_eq!(tile["start_s"].as_i64(), Some(start));
    assert_eq!(tile["seconds_per_bit"], 1);
    assert_eq!(tile["level"], 0);
    assert_eq!(tile["index"].as_i64(), Some(index));
    assert_eq!(tile["camera"], "cam-1");
    let b = T - start;
    assert_eq!(tile["classes"]["person"], serde_json::json!([[b + 10, b + 40]]));
    assert_eq!(tile["classes"]["car"], serde_json::json!([[b + 5, b + 6]]));

    // Pinned clock: nothing at or after now.
    let pinned = tessera(&[
        "tiles",
        "get",
        "--archive",
        a,
        "--camera",
        "cam-1",
        "--level",
        "0",
        "--index",
        &index.to_string(),
        "--now",
        &(T + 20).to_string(),
        "--json",
    ])
    .json();
    assert_eq!(pinned["classes"]["person"], serde_json::json!([[b + 10, b + 19]]));
    let before = tessera(&[
        "tiles",
        "get",
        "--archive",
        a,
        "--camera",
        "cam-1",
        "--level",
        "5",
        "--index",
        &((T / 1024) >> 5).to_string(),
        "--now",
        &(T - 100).to_string(),
        "--json",
    ])
    .json();
    assert_eq!(before["classes"], serde_json::json!({}));
    let unknown =
        tessera(&["tiles", "get", "--archive", a, "--camera", "nobody", "--level", "20", "--index", "0", "--json"])
            .json();
    assert_eq!(unknown["classes"], serde_json::json!({}));

    // Rebuild gives the same answers at every level.
    let all_levels = |a: &str| -> Vec<serde_json::Value> {
        (0..=20u8)
            .map(|l| {
                tessera(&[
                    "tiles",
                    "get",
                    "--archive",
                    a,
                    "--camera",
                    "cam-1",
                    "--level",
                    &l.to_string(),
                    "--index",
                    &((T / 1024) >> l).to_string(),
                    "--json",
                ])
                .json()
            })
            .collect()
    };
    let before = all_levels(a);
    assert_eq!(tessera(&["tiles", "rebuild", "--archive", a]).code, 0);
    assert_eq!(all_levels(a), before);
    assert_eq!(
        tessera(&["tiles", "get", "--archive", a, "--camera", "cam-1", "--level", "21", "--index", "0"]).code,
        2
    );
}

#[test]
fn rejected_files_are_not_half_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().to_str().unwrap();
    let input = tmp.path().join("bad.jsonl");
    std::fs::write(
        &input,
        format!(
            "{}\n{}\n{{\"camera\":\"cam-1\",\"class\":\"car\",\"first_ms\":9,\"last_ms\":3}}\n",
            line("cam-1", "person", T, T + 1),
            line("cam-1", "car", T, T + 1)
        ),
    )
    .unwrap();
    tessera(&["events", "ingest", "--archive", a, input.to_str().unwrap()]).assert_clean_error("line 3");
    std::fs::write(&input, "{\"camera\":\"cam-1\"\n").unwrap();
    tessera(&["events", "ingest", "--archive", a, input.to_str().unwrap()]).assert_clean_error("line 1");
    let list = tessera(&[
        "events",
        "list",
        "--archive",
        a,
        "--camera",
        "cam-1",
        "--from",
        "0",
        "--to",
        &i64::MAX.to_string(),
        "--json",
    ])
    .json();
    assert_eq!(list["events"], serde_json::json!([]));
    tessera(&["events", "ingest", "--archive", "/nonexistent/dir", input.to_str().unwrap()])
        .assert_clean_error("/nonexistent/dir");
}
