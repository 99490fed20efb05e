//! `tessera screenshot --at T` on the default demo draws each labelled box of the picture at
//! T as `tessera hypertable query` gives it for that picture's frame: the nearest labelled
//! frame within half a source frame (the demo's pictures are stamped every 0.19995 s, its
//! labels every 0.2 s), at the picture's scale, in the label's colour.

use serde_json::Value;
use tessera_storage::observations::Catalog;
use tessera_tests::tessera;

const END_US: i64 = 1_793_534_400_000_000; // 2026-11-01T12:00:00Z

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn labelled_boxes_drawn_are_the_queried_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let d = dir.to_str().unwrap();
    let end = END_US.to_string();
    let run = tessera(&[
        "demo",
        "--dir",
        d,
        "--hours",
        "0.3",
        "--cameras",
        "1",
        "--event-days",
        "0.3",
        "--no-gui",
        "--no-sky",
        "--end",
        &end,
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let catalog = dir.join("labels");
    let cat = catalog.to_str().unwrap();
    let query = tessera(&["hypertable", "query", "--catalog", cat, "--project", "1", "--json"]);
    assert_eq!(query.code, 0, "{query:?}");
    let rows = query.json()["rows"].as_array().unwrap().clone();
    let headers = Catalog::open_read(&catalog).unwrap();
    // A frame's UTC: its classification's frame 0 plus its offset.
    let frame_time = |r: &Value| {
        let c = r["classification"].as_i64().unwrap();
        headers.video_record(c).unwrap().expect("a populated classification").start_utc_us + r["t_us"].as_i64().unwrap()
    };
    let people: Vec<&Value> = rows.iter().filter(|r| r["label"] == "person").collect();
    assert!(people.len() > 20, "the demo labels people: {}", people.len());
    let png = tmp.path().join("window.png");
    let mut checked = 0;
    // A few moments through the labelled clips, each a little after a labelled frame (the
    // picture then is the previous one, just before or at that frame).
    for r in people.iter().step_by(people.len() / 5) {
        let at = (frame_time(r) + 30_000).to_string();
        let run = tessera(&[
            "screenshot",
            "--archive",
            d,
            "--at",
            &at,
            "--size",
            "1280x800",
            "--utc",
            "--json",
            "--out",
            png.to_str().unwrap(),
        ]);
        assert_eq!(run.code, 0, "{run:?}");
        let v = run.json();
        let picture = &v["picture"];
        let shown_us = picture["time_us"].as_i64().expect("a picture at T");
        let [px0, py0, px1, py1] = [0, 1, 2, 3].map(|i| f(&picture["rect"][i]));
        let (sx, sy) = ((px1 - px0) / f(&picture["width"]), (py1 - py0) / f(&picture["height"]));
        // The labelled frame nearest the picture, of the classification it labels.
        let classification = r["classification"].as_i64().unwrap();
        let of_clip: Vec<&Value> = rows.iter().filter(|x| x["classification"] == classification).collect();
        let nearest = of_clip.iter().map(|x| frame_time(x)).min_by_key(|t| (t - shown_us).abs()).unwrap();
        assert!((nearest - shown_us).abs() <= 100_000, "a labelled frame within half a frame: {nearest} vs {shown_us}");
        let mut expected: Vec<(String, Vec<f64>)> = of_clip
            .iter()
            .filter(|x| frame_time(x) == nearest)
            .map(|x| (x["label"].as_str().unwrap().to_string(), x["bbox"].as_array().unwrap().iter().map(f).collect()))
            .collect();
        let drawn = v["observation_boxes"].as_array().unwrap();
        let mut got: Vec<(String, Vec<f64>)> = drawn
            .iter()
            .map(|b| (b["label"].as_str().unwrap().to_string(), b["bbox"].as_array().unwrap().iter().map(f).collect()))
            .collect();
        expected.sort_by(|a, b| a.partial_cmp(b).unwrap());
        got.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(got, expected, "picture at {shown_us}: the boxes of the labelled frame at {nearest}");
        // Each box where its pixels put it over the picture, outlined in its label's colour.
        let img = image::open(&png).unwrap().to_rgb8();
        for b in drawn {
            let bbox: Vec<f64> = b["bbox"].as_array().unwrap().iter().map(f).collect();
            let want = [
                px0 + bbox[0] * sx,
                py0 + bbox[1] * sy,
                px0 + (bbox[0] + bbox[2]) * sx,
                py0 + (bbox[1] + bbox[3]) * sy,
            ];
            let rect: Vec<f64> = (0..4).map(|i| f(&b["rect"][i])).collect();
            for i in 0..4 {
                assert!((rect[i] - want[i]).abs() < 0.5, "box {b} drawn at {rect:?}, its pixels say {want:?}");
            }
            let colour = tessera::ui::observations::label_color(b["label"].as_str().unwrap());
            // Its tag, filled with the label's colour, sits on the box's top-left corner (the
            // outline itself may lie under the detection box of the same person).
            let (x, y) = ((rect[0] - 0.5).floor() as u32, (rect[1] - 8.0) as u32);
            let p = img.get_pixel(x, y).0;
            let diff = (0..3).map(|i| (i32::from(p[i]) - i32::from(colour[i])).abs()).max().unwrap();
            assert!(diff <= 40, "box {b}: pixel ({x}, {y}) is {p:?}, its label's colour {colour:?}");
            checked += 1;
        }
    }
    assert!(checked >= 5, "boxes checked: {checked}");
}
