//! `tessera render-timeline` against the contract, on the real wgpu pipeline (software
//! Vulkan in CI): a column whose span contains a detection shows the class colour in its row;
//! a column with no detection of that class within two columns either side does not.

#![allow(clippy::unwrap_used)]

use tessera_tests::tessera;

const T0: i64 = 1_700_000_000; // seconds

struct Det {
    class: &'static str,
    first_ms: i64,
    last_ms: i64,
}

fn write_events(dir: &std::path::Path, dets: &[Det]) {
    let lines: Vec<String> = dets
        .iter()
        .map(|d| {
            format!(r#"{{"camera":"cam-1","class":"{}","first_ms":{},"last_ms":{}}}"#, d.class, d.first_ms, d.last_ms)
        })
        .collect();
    let file = dir.join("e.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();
    assert_eq!(tessera(&["events", "ingest", "--archive", dir.to_str().unwrap(), file.to_str().unwrap()]).code, 0);
}

/// Render [from, to] and check every row and column against the detections.
fn check(dir: &std::path::Path, dets: &[Det], from_ms: i64, to_ms: i64, width: u32) {
    let png = dir.join(format!("t{from_ms}_{to_ms}.png"));
    let layout = dir.join("layout.json");
    let run = tessera(&[
        "render-timeline",
        "--archive",
        dir.to_str().unwrap(),
        "--cameras",
        "cam-1",
        "--from",
        &(from_ms * 1000).to_string(),
        "--to",
        &(to_ms * 1000).to_string(),
        "--width",
        &width.to_string(),
        "--out",
        png.to_str().unwrap(),
        "--layout",
        layout.to_str().unwrap(),
        "--now",
        &(T0 + 100 * 365 * 86_400).to_string(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let img = image::open(&png).unwrap().to_rgba8();
    assert_eq!(img.width(), width);
    let layout: serde_json::Value = serde_json::from_slice(&std::fs::read(&layout).unwrap()).unwrap();
    let (x0, x1) = (layout["x0"].as_f64().unwrap(), layout["x1"].as_f64().unwrap());
    let (t0, t1) = (layout["t0_ms"].as_f64().unwrap(), layout["t1_ms"].as_f64().unwrap());
    let col_ms = (t1 - t0) / (x1 - x0);
    let mut hits = 0;
    for row in layout["rows"].as_array().unwrap() {
        let class = row["class"].as_str().unwrap();
        let color: Vec<u8> = row["color"].as_array().unwrap().iter().map(|c| c.as_u64().unwrap() as u8).collect();
        let y = (row["y0"].as_u64().unwrap() + row["y1"].as_u64().unwrap()) / 2;
        for x in 0..width {
            let start = t0 + (f64::from(x) - x0) * col_ms;
            let end = start + col_ms;
            let hit = |lo: f64, hi: f64| {
                dets.iter().any(|d| d.class == class && (d.first_ms as f64) < hi && (d.last_ms as f64) >= lo)
            };
            let px = img.get_pixel(x, y as u32);
            let shows = px.0[..3] == color[..];
            if hit(start, end) {
                hits += 1;
                assert!(
                    shows,
                    "{class}: column {x} [{start}, {end}) holds a detection but shows {px:?} (span {} ms)",
                    to_ms - from_ms
                );
            }
            if !hit(start - 2.0 * col_ms, end + 2.0 * col_ms) {
                let bg = px.0[..3] != color[..]
                    && px.0[0..3].iter().zip(&color).map(|(a, b)| (i32::from(*a) - i32::from(*b)).abs()).sum::<i32>()
                        > 30;
                assert!(
                    bg,
                    "{class}: column {x} shows {px:?} with no detection within two columns (span {} ms)",
                    to_ms - from_ms
                );
            }
        }
    }
    assert!(hits > 0, "no column held a detection: the check would be vacuous");
}

#[test]
fn columns_show_exactly_their_detections_at_every_zoom() {
    let tmp = tempfile::tempdir().unwrap();
    let mut x = 0x1234_5678_9abc_def0u64;
    let mut dets = Vec::new();
    for i in 0..300 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // Spread over ~2 years, denser near T0; some a few ms long.
        let spread = if i % 3 == 0 { 2 * 365 * 86_400_000 } else { 3 * 3_600_000 };
        let first_ms = T0 * 1000 + (x % spread) as i64;
        let len = [5, 400, 1500, 20_000, 3_600_000][(x >> 50) as usize % 5];
        dets.push(Det { class: ["person", "car", "truck"][(x >> 40) as usize % 3], first_ms, last_ms: first_ms + len });
    }
    // One short detection inside every window checked below, so no check is vacuous.
    for (at, len) in [(2_000, 5), (30_000, 300), (1_800_000, 40)] {
        dets.push(Det { class: "person", first_ms: T0 * 1000 + at, last_ms: T0 * 1000 + at + len });
    }
    write_events(tmp.path(), &dets);
    let base = T0 * 1000;
    for (from, to, width) in [
        (base, base + 10_000, 2000),                            // 10 s: 5 ms per column
        (base, base + 60_000, 2000),                            // 1 min
        (base + 1_234, base + 3_600_000 + 77, 2000),            // 1 h, unaligned
        (base - 3_600_000, base + 86_400_000, 1999),            // a day
        (base, base + 40 * 86_400_000, 2000),                   // 40 days
        (base - 86_400_000, base + 3 * 365 * 86_400_000, 2000), // years
    ] {
        check(tmp.path(), &dets, from, to, width);
    }
}

#[test]
fn future_columns_and_unknown_cameras() {
    let tmp = tempfile::tempdir().unwrap();
    write_events(tmp.path(), &[Det { class: "person", first_ms: T0 * 1000, last_ms: T0 * 1000 + 60_000 }]);
    let png = tmp.path().join("f.png");
    let layout = tmp.path().join("f.json");
    let run = tessera(&[
        "render-timeline",
        "--archive",
        tmp.path().to_str().unwrap(),
        "--cameras",
        "cam-1,nobody",
        "--from",
        &(T0 * 1_000_000).to_string(),
        "--to",
        &((T0 + 100) * 1_000_000).to_string(),
        "--width",
        "100",
        "--out",
        png.to_str().unwrap(),
        "--layout",
        layout.to_str().unwrap(),
        "--now",
        &(T0 + 50).to_string(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let img = image::open(&png).unwrap().to_rgba8();
    let layout: serde_json::Value = serde_json::from_slice(&std::fs::read(&layout).unwrap()).unwrap();
    assert_eq!(layout["rows"].as_array().unwrap().len(), 1, "unknown cameras have no rows");
    let y = layout["rows"][0]["y0"].as_u64().unwrap() as u32 + 1;
    assert_eq!(img.get_pixel(10, y).0[..3], [255, 40, 0]);
    let future = img.get_pixel(80, y).0;
    assert_ne!(future[..3], [255, 40, 0], "no detection is drawn in the future");
    assert_eq!(
        tessera(&[
            "render-timeline",
            "--archive",
            tmp.path().to_str().unwrap(),
            "--cameras",
            "cam-1",
            "--from",
            "10",
            "--to",
            "5",
            "--out",
            png.to_str().unwrap()
        ])
        .code,
        1
    );
}

/// `--style coverage`: an hour lit throughout is drawn brighter than an hour with one
/// second of detections, where presence draws both alike; an hour without any stays dark.
#[test]
fn coverage_shows_how_much_of_the_time_is_lit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let hour = 3_600_000;
    let start = T0 * 1000 - (T0 * 1000).rem_euclid(hour);
    let dets = [
        Det { class: "person", first_ms: start + 1_900_000, last_ms: start + 1_901_000 },
        Det { class: "person", first_ms: start + 2 * hour, last_ms: start + 3 * hour - 1 },
    ];
    write_events(dir, &dets);
    let render = |style: &str| {
        let png = dir.join(format!("{style}.png"));
        let run = tessera(&[
            "render-timeline",
            "--archive",
            dir.to_str().unwrap(),
            "--cameras",
            "cam-1",
            "--from",
            &(start * 1000).to_string(),
            "--to",
            &((start + 4 * hour) * 1000).to_string(),
            "--width",
            "64",
            "--out",
            png.to_str().unwrap(),
            "--style",
            style,
            "--now",
            &(T0 + 100 * 365 * 86_400).to_string(),
        ]);
        assert_eq!(run.code, 0, "{run:?}");
        image::open(&png).unwrap().to_rgba8()
    };
    // 64 px over four hours: pixel 8 is in the sparse hour, 40 in the busy one, 24 in neither.
    let red = |img: &image::RgbaImage, x: u32| img.get_pixel(x, 6).0[0];
    let (presence, coverage) = (render("presence"), render("coverage"));
    assert_eq!(red(&presence, 8), red(&presence, 40), "presence: any detection is the full colour");
    assert!(red(&coverage, 40) > red(&coverage, 8) + 40, "busy {} vs sparse {}", red(&coverage, 40), red(&coverage, 8));
    assert!(red(&coverage, 8) > red(&coverage, 24) + 20, "one second still shows: {}", red(&coverage, 8));
    assert_eq!(red(&coverage, 24), red(&presence, 24), "nothing is background in both");
    let bad = tessera(&[
        "render-timeline",
        "--archive",
        "x",
        "--cameras",
        "c",
        "--from",
        "0",
        "--to",
        "1",
        "--out",
        "o.png",
        "--style",
        "glow",
    ]);
    assert_eq!(bad.code, 2, "an unknown style is a usage error");
}
