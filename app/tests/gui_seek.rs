//! The two-stage seek as a user sees it in the window (kittest, wgpu on the software
//! renderer): a seek deep into a long GOP of real x264 puts the GOP's keyframe on screen at
//! once, marked provisional, with the playhead already at the asked time; the exact picture
//! replaces it when its decode ends. The GOP is 20 s (500 pictures) so the exact decode takes
//! hundreds of milliseconds on any machine and the frames in between are drawn for certain.
//!
//! x264 with B-frames: FFmpeg builds only (openh264 has no B-frames).

#![cfg(feature = "ffmpeg")]

mod common;

use common::{harness, settle};
use egui::Vec2;
use std::path::{Path, PathBuf};
use tessera::ui::{ArchiveState, Command, TesseraApp};
use tessera_storage::fsv::{FrameRate, import_h264};

const START_US: i64 = 1_790_000_000_000_000;

/// 20 s of 960×540 x264 at 25 fps (B-frames, one GOP), detailed and moving: `testsrc2`
/// changes every picture, so the keyframe and a picture 19 s later differ.
fn one_long_gop(dir: &Path) -> PathBuf {
    let x264 = ["-preset", "veryfast", "-bf", "2", "-g", "500", "-keyint_min", "500", "-sc_threshold", "0"];
    common::x264(&dir.join("long-gop.h264"), "testsrc2=size=960x540:rate=25:duration=20", &x264)
}

fn playhead(app: &TesseraApp) -> Option<i64> {
    match &app.archive {
        ArchiveState::Open { timeline, .. } => timeline.playhead_us,
        _ => None,
    }
}

#[test]
fn a_seek_shows_the_keyframe_before_the_exact_picture() {
    let dir = std::env::temp_dir().join("tessera-gui-seek");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let input = one_long_gop(&dir);
    let archive = dir.join("archive");
    let mut file = std::fs::File::open(&input).expect("fixture");
    import_h264(&archive, "gop", START_US, FrameRate { num: 25, den: 1 }, &mut file, &input).expect("import");

    let mut h = harness(common::app_on(archive), Vec2::new(1000.0, 760.0));
    settle(&mut h);
    assert_eq!(common::player(&h).player.stream, "gop");

    // 19.04 s in: the 477th picture of the GOP, hundreds of pictures to decode. Every frame
    // drawn meanwhile is looked at.
    let target = START_US + 19_040_000;
    h.state_mut().push(Command::SeekTo(target));
    let mut drawn_provisional = None;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        h.run_steps(1);
        let app = h.state();
        let shown = common::active(app).and_then(|p| p.shown.as_ref()).map(|s| (s.provisional, s.frame.time_us));
        match shown {
            Some((true, t)) if drawn_provisional.is_none() => {
                // On screen in this frame: the GOP's keyframe, while the playhead is already
                // where the user asked (the position does not jump back to the keyframe).
                drawn_provisional = Some((t, playhead(app), h.render().expect("render")));
            }
            // (Times floor to rf1's 1/4096 ms ticks.)
            Some((false, t)) if t.abs_diff(target) < 1000 => break,
            _ => {}
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for the exact picture: {shown:?}");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let (key_t, key_playhead, key_render) =
        drawn_provisional.expect("a provisional picture was drawn before the exact one");
    assert!(key_t.abs_diff(START_US) < 1000, "the provisional picture is the GOP's keyframe: {key_t}");
    assert_eq!(key_playhead, Some(target), "the playhead stays at the asked time");
    let exact_render = h.render().expect("render");
    let changed = key_render
        .pixels()
        .zip(exact_render.pixels())
        .filter(|(a, b)| (0..3).any(|c| a.0[c].abs_diff(b.0[c]) > 24))
        .count();
    assert!(changed > 10_000, "the exact picture replaced the keyframe on screen ({changed} pixels changed)");
}
