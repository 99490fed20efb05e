//! A live archive in the real window (kittest, wgpu on the software renderer): a recorder
//! writes a stream in real time while the window is open; the streams tree shows the stream
//! growing, "Live" puts the player at the newest picture and it follows the recorder picture
//! by picture with a LIVE badge, the playhead moving with it; when the recorder stops, the tile
//! says it stalled.

mod common;

use common::{harness, settle};
use egui::Vec2;
use egui_kittest::kittest::Queryable;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tessera::ui::{ArchiveState, TesseraApp};
use tessera_storage::UnixMicros;
use tessera_storage::fsv::{Archive, FrameRate, Pace, import_paced};
use tessera_storage::rf1::Codec;

/// `seconds` of 320×180 x264 at 25 fps, 1 s GOPs, Baseline (both decoder backends read it).
fn encode(dir: &Path, seconds: u32) -> PathBuf {
    let input = format!("testsrc2=size=320x180:rate=25:duration={seconds}");
    common::x264(&dir.join("live.h264"), &input, &["-preset", "veryfast", "-profile:v", "baseline", "-g", "25"])
}

fn stream_end(app: &TesseraApp) -> Option<i64> {
    match &app.archive {
        ArchiveState::Open { streams, .. } => streams.first().map(|s| s.end_us),
        _ => None,
    }
}

fn playhead(app: &TesseraApp) -> Option<i64> {
    match &app.archive {
        ArchiveState::Open { timeline, .. } => timeline.playhead_us,
        _ => None,
    }
}

#[test]
fn the_window_follows_a_recorder_at_the_live_edge() {
    let dir = std::env::temp_dir().join("tessera-gui-live");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let input = encode(&dir, 6);
    let archive = dir.join("archive");
    let started = Instant::now();
    let start_us = UnixMicros::now().0;
    let recorder = {
        let (archive, input) = (archive.clone(), input.clone());
        std::thread::spawn(move || {
            let mut file = std::fs::File::open(&input).expect("fixture");
            let fps = FrameRate { num: 25, den: 1 };
            import_paced(&archive, "cam-1", Codec::H264, start_us, fps, &mut file, &input, Pace::Realtime { started })
        })
    };
    while Archive::open(&archive).ok().and_then(|a| a.stream("cam-1").ok().map(|s| s.end_us)).is_none() {
        assert!(started.elapsed() < Duration::from_secs(5), "the recorder wrote its first picture");
        std::thread::sleep(Duration::from_millis(20));
    }

    let mut h = harness(common::app_on(archive), Vec2::new(1000.0, 700.0));
    settle(&mut h);
    let opened_end = stream_end(h.state()).expect("the stream is listed");
    h.get_by_label("Live").click();

    // Two and a half seconds of the recorder writing, looked at frame by frame.
    let mut ends = vec![opened_end];
    let mut pictures: Vec<i64> = Vec::new();
    let mut badge_seen = false;
    let until = Instant::now() + Duration::from_millis(2500);
    while Instant::now() < until {
        h.run_steps(1);
        std::thread::sleep(Duration::from_millis(30));
        let app = h.state();
        ends.extend(stream_end(app).filter(|e| Some(e) != ends.last()));
        if let Some(shown) = common::active(app).and_then(|p| p.shown.as_ref()).filter(|s| s.live)
            && pictures.last() != Some(&shown.frame.time_us)
        {
            pictures.push(shown.frame.time_us);
            assert_eq!(playhead(app), Some(shown.frame.time_us), "the playhead is at the live picture");
        }
        badge_seen |= h.query_by_label("LIVE").is_some();
    }
    assert!(ends.len() >= 2 && ends.windows(2).all(|w| w[1] > w[0]), "the streams tree's stream grows: {ends:?}");
    assert!(pictures.len() >= 15, "the player follows picture by picture: {} pictures", pictures.len());
    assert!(pictures.windows(2).all(|w| w[1] > w[0]), "never back: {pictures:?}");
    let newest = *pictures.last().expect("pictures");
    assert!(UnixMicros::now().0 - newest < 1_500_000, "the live picture is close to now: {newest}");
    assert!(badge_seen, "the tile says LIVE");

    // The recorder ends; the tile says it stalled (after 5 s without a new picture).
    recorder.join().expect("recorder").expect("the recording completes");
    let deadline = Instant::now() + Duration::from_secs(20);
    while h.query_by_label_contains("recorder stalled").is_none() {
        assert!(Instant::now() < deadline, "the tile says the recorder stalled");
        h.run_steps(1);
        std::thread::sleep(Duration::from_millis(100));
    }
}
