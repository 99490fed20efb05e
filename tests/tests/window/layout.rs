//! `tessera screenshot --json` for 1, 4 and 9 cameras at 1280×800 and 800×600, with and
//! without a selection: strips never overlap each other or the axis, lie inside the
//! timeline, the timeline stays clear of the side panel, and each strip is at least 18 px
//! tall or the strips scroll; the filmstrip lies inside the timeline, under the axis, clear of
//! the strips.

use serde_json::Value;
use tessera_tests::tessera;

const END: &str = "2026-11-01T12:00:00Z";

fn rect(v: &Value) -> [f64; 4] {
    let a = v.as_array().unwrap_or_else(|| panic!("not a rectangle: {v}"));
    let n: Vec<f64> = a.iter().map(|x| x.as_f64().unwrap()).collect();
    assert_eq!(n.len(), 4, "{v}");
    assert!(n[0] <= n[2] && n[1] <= n[3], "not x0 ≤ x1, y0 ≤ y1: {v}");
    [n[0], n[1], n[2], n[3]]
}

/// Overlap of positive area (touching edges do not count).
fn overlaps(a: [f64; 4], b: [f64; 4]) -> bool {
    a[0] < b[2] - 0.01 && b[0] < a[2] - 0.01 && a[1] < b[3] - 0.01 && b[1] < a[3] - 0.01
}

fn inside(inner: [f64; 4], outer: [f64; 4]) -> bool {
    inner[0] >= outer[0] - 0.01
        && inner[1] >= outer[1] - 0.01
        && inner[2] <= outer[2] + 0.01
        && inner[3] <= outer[3] + 0.01
}

#[test]
fn many_cameras_fit_or_scroll_at_every_size() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let d = dir.to_str().unwrap();
    let run = tessera(&[
        "demo",
        "--dir",
        d,
        "--hours",
        "0.05",
        "--cameras",
        "9",
        "--event-days",
        "0.05",
        "--no-gui",
        "--no-labels",
        "--no-sky",
        "--end",
        END,
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let mut scrolled = false;
    for cameras in ["1", "4", "9"] {
        for size in ["1280x800", "800x600"] {
            for select in [None, Some("2026-11-01T11:58:00Z,2026-11-01T11:59:00Z")] {
                let mut args =
                    vec!["screenshot", "--archive", d, "--at", "2026-11-01T11:59:30Z", "--size", size, "--json"];
                args.extend(["--cameras", cameras]);
                if let Some(s) = select {
                    args.extend(["--select", s]);
                }
                let run = tessera(&args);
                assert_eq!(run.code, 0, "{args:?}: {run:?}");
                let v = run.json();
                let case = format!("{cameras} cameras at {size}, selection {select:?}: {v}");
                let timeline = rect(&v["timeline"]);
                let side = rect(&v["side_panel"]);
                let ticks = rect(&v["ticks"]);
                let scrolls = v["timeline_scrolls"].as_bool().unwrap();
                scrolled |= scrolls;
                assert!(!overlaps(timeline, side), "the timeline runs under the side panel: {case}");
                assert!(inside(ticks, timeline), "{case}");
                let strips: Vec<[f64; 4]> = v["strips"].as_array().unwrap().iter().map(|s| rect(&s["rect"])).collect();
                assert!(!strips.is_empty(), "{case}");
                if !scrolls {
                    assert_eq!(strips.len(), cameras.parse::<usize>().unwrap(), "every strip in view: {case}");
                }
                // The active stream's filmstrip: inside the timeline, under the axis, over no strip.
                let film = rect(&v["filmstrip"]);
                assert!(inside(film, timeline) && !overlaps(film, ticks), "filmstrip: {case}");
                assert!(film[3] - film[1] >= 40.0, "filmstrip under 40 px: {case}");
                for (i, s) in strips.iter().enumerate() {
                    assert!(inside(*s, timeline), "strip {i} outside the timeline: {case}");
                    assert!(!overlaps(*s, ticks), "strip {i} over the ticks: {case}");
                    assert!(!overlaps(*s, film), "strip {i} over the filmstrip: {case}");
                    assert!(scrolls || s[3] - s[1] >= 18.0, "strip {i} under 18 px: {case}");
                    for (j, t) in strips.iter().enumerate().skip(i + 1) {
                        assert!(!overlaps(*s, *t), "strips {i} and {j} overlap: {case}");
                    }
                }
                let (w, h) = size.split_once('x').unwrap();
                let window = [0.0, 0.0, w.parse().unwrap(), h.parse().unwrap()];
                assert!(inside(timeline, window) && inside(side, window), "{case}");
                if select.is_some() {
                    assert!(v["selection"].is_array(), "{case}");
                }
            }
        }
    }
    assert!(scrolled, "9 cameras at 800×600 do not fit: the strips scroll");
    // A selection is two times, in order.
    let bad = tessera(&["screenshot", "--archive", d, "--at", END, "--json", "--select", "2026-11-01T11:59:00Z"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    tessera(&["screenshot", "--archive", d, "--at", END]).assert_clean_error("--json");
}
