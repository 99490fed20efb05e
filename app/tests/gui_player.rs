//! The player panel driven as a user drives it, on the real wgpu pipeline (software renderer):
//! switching streams shows the new stream's picture and keeps playing, Play before any seek
//! starts at the playhead, "no video at <time>" where nothing was recorded, and the frame's
//! time in the chosen zone rounded to the millisecond.

mod common;

use common::{DEMO_END_US, active, demo_app, harness, player, settle, snapshot_options, wait_until};
use egui::Vec2;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use std::time::{Duration, Instant};
use tessera::ui::{ArchiveState, Command, TesseraApp};
use tessera_engine::timeline::ticks::{Clock, format_instant};

/// `stream` in the streams tree (the left panel comes first; the tile's picker and the
/// transport may name the active stream too).
fn click_stream(h: &Harness<'static, TesseraApp>, stream: &str) {
    h.get_all_by_label(stream).next().expect("the stream in the tree").click();
}

/// The transport's Play button (it comes before the streams list).
fn transport_play(h: &Harness<'static, TesseraApp>) {
    h.get_all_by_label("Play").next().expect("a Play button").click();
}

/// How many pixels of the picture area differ clearly between two renders.
fn picture_difference(a: &image::RgbaImage, b: &image::RgbaImage) -> usize {
    // The picture sits right of the streams tree, under the menu and the tile's picker.
    (100..400)
        .flat_map(|y| (300..900).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            let (p, q) = (a.get_pixel(x, y).0, b.get_pixel(x, y).0);
            (0..3).any(|c| p[c].abs_diff(q[c]) > 24)
        })
        .count()
}

fn playhead(h: &Harness<'static, TesseraApp>) -> Option<i64> {
    match &h.state().archive {
        ArchiveState::Open { timeline, .. } => timeline.playhead_us,
        _ => None,
    }
}

#[test]
fn switching_streams_shows_the_new_picture_and_keeps_playing() {
    let mut h = harness(demo_app("switch", 1.0), Vec2::new(1000.0, 900.0));
    settle(&mut h);
    assert!(player(&h).opened, "the stream is open");
    assert_eq!(player(&h).player.stream, "cam-1-HD");
    let t = DEMO_END_US - 20 * 60 * 1_000_000 + 7_000_000;
    h.state_mut().push(Command::SeekTo(t));
    h.run_steps(1);
    settle(&mut h);
    let first = player(&h).shown.as_ref().map(|p| (p.id, p.frame.time_us)).expect("a picture");
    let before = h.render().expect("render");

    // cam-2-HD in the streams tree: the same moment on the other camera.
    click_stream(&h, "cam-2-HD");
    h.run_steps(1);
    settle(&mut h);
    let p = player(&h);
    assert_eq!(p.player.stream, "cam-2-HD");
    let second = p.shown.as_ref().map(|p| (p.id, p.frame.time_us)).expect("a picture of cam-2");
    assert_ne!(second.0, first.0, "picture ids are unique across players");
    assert!((second.1 - first.1).abs() < 250_000, "the same moment: {second:?} vs {first:?}");
    assert!(!p.playing, "a paused player stays paused");
    let after = h.render().expect("render");
    let changed = picture_difference(&before, &after);
    assert!(changed > 2000, "the picture shows cam-2's scene, not cam-1's: {changed} pixels changed");
    h.snapshot_options("player_switched_stream", &snapshot_options());

    // Play at 2×, then switch back: the new player plays on from the playhead at 2×.
    h.state_mut().push(Command::SeekTo(t));
    h.run_steps(1);
    settle(&mut h);
    if let ArchiveState::Open { grid, .. } = &mut h.state_mut().archive {
        grid.active_mut().expect("a player").speed = 2.0;
    }
    transport_play(&h);
    h.run_steps(1);
    assert!(player(&h).playing);
    wait_until(&mut h, "playback to move", |app| {
        active(app).is_some_and(|p| p.shown.as_ref().is_some_and(|s| s.frame.time_us > t + 1_000_000))
    });
    click_stream(&h, "cam-1-HD");
    h.run_steps(1);
    let switched_at = playhead(&h).expect("a playhead");
    assert_eq!(player(&h).player.stream, "cam-1-HD");
    assert!(player(&h).playing, "still playing after the switch");
    assert_eq!(player(&h).speed, 2.0, "at the same speed");
    // Frames of the new stream arrive and move on from where the old one was.
    let started = Instant::now();
    wait_until(&mut h, "the new stream to play on", |app| {
        active(app).is_some_and(|p| {
            p.player.stream == "cam-1-HD" && p.shown.as_ref().is_some_and(|s| s.frame.time_us > switched_at + 1_000_000)
        })
    });
    let p = player(&h);
    assert!(p.playing);
    let shown = p.shown.as_ref().map(|s| s.frame.time_us).unwrap_or_default();
    assert!(
        shown - switched_at < 20_000_000,
        "played on from the playhead, not from elsewhere: {shown} vs {switched_at}"
    );
    // 2×: a second of video takes about half a second.
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn play_before_any_seek_starts_at_the_playhead_and_gaps_say_no_video() {
    let mut h = harness(demo_app("play-first", 1.0), Vec2::new(1000.0, 760.0));
    settle(&mut h);
    assert!(player(&h).shown.is_none());
    // The playhead is set (as the timeline does) without a seek, away from the latest video.
    let t = DEMO_END_US - 30 * 60 * 1_000_000 + 3_000_000;
    h.state_mut().push(Command::PlayheadMoved(t));
    h.run_steps(1);
    transport_play(&h);
    h.run_steps(1);
    wait_until(&mut h, "the exact picture (after the provisional keyframe)", |app| {
        active(app).is_some_and(|p| p.shown.as_ref().is_some_and(|s| !s.provisional))
    });
    let shown = player(&h).shown.as_ref().map(|s| s.frame.time_us).unwrap_or_default();
    assert!((t - 1_000_000..t + 10_000_000).contains(&shown), "Play started at the playhead: {shown} vs {t}");
    assert!(player(&h).playing);
    h.get_by_label("Pause").click();
    h.run_steps(1);
    settle(&mut h);

    // The frame's time: in the chosen zone (UTC here), rounded to the millisecond.
    let shown = player(&h).shown.as_ref().map(|s| s.frame.time_us).expect("a picture");
    let label = format_instant(shown, Clock::Utc);
    assert!(h.query_by_label(&label).is_some(), "the video's time label reads {label}");
    let fraction = label.trim_end_matches(" UTC").rsplit(':').next().unwrap_or_default().to_owned();
    assert!(fraction.len() <= 6, "at most milliseconds: {label}");
    h.state_mut().push(Command::SetClock(Clock::Local));
    h.run_steps(2);
    assert!(h.query_by_label(&format_instant(shown, Clock::Local)).is_some(), "local time after the switch");
    h.state_mut().push(Command::SetClock(Clock::Utc));
    h.run_steps(2);

    // A day and a half back there are events but no video: the picture says so, dimmed.
    let empty = DEMO_END_US - 36 * 3_600_000_000;
    h.state_mut().push(Command::SeekTo(empty));
    h.run_steps(1);
    settle(&mut h);
    assert_eq!(player(&h).no_video_at, Some(empty));
    let text = format!("no video at {}", format_instant(empty, Clock::Utc));
    assert!(h.query_by_label(&text).is_some(), "{text}");
    assert!(h.query_by_label(&label).is_none(), "the old frame's time is not shown as if current");
    h.snapshot_options("player_no_video", &snapshot_options());
    // +10 s in the gap goes on from the gap's time (not the old picture's), and the playhead
    // follows (so `[` … `]` there marks ten seconds, not none).
    h.get_by_label("+10s").click();
    h.run_steps(1);
    settle(&mut h);
    assert_eq!(player(&h).no_video_at, Some(empty + 10_000_000));
    assert_eq!(playhead(&h), Some(empty + 10_000_000), "the playhead moves with a jump into a gap");
}

/// The player's keys act wherever the focus is, except in a text field: Space plays and
/// pauses, L shuttles forward (doubling), J backwards, K pauses, `.` steps one frame.
#[test]
fn keyboard_shortcuts_drive_the_player_but_not_while_typing() {
    let mut h = harness(demo_app("keys", 0.5), Vec2::new(1000.0, 900.0));
    settle(&mut h);
    let t = DEMO_END_US - 10 * 60 * 1_000_000 + 3_000_000;
    h.state_mut().push(Command::SeekTo(t));
    h.run_steps(1);
    settle(&mut h);
    let shown = |h: &Harness<'static, TesseraApp>| player(h).shown.as_ref().map(|p| p.frame.time_us);
    let before = shown(&h).expect("a picture");
    h.key_press(egui::Key::Period);
    h.run_steps(1);
    wait_until(&mut h, "one frame on", |app| {
        active(app).is_some_and(|p| p.shown.as_ref().is_some_and(|s| s.frame.time_us > before))
    });
    assert!(!player(&h).playing);
    h.key_press(egui::Key::Space);
    h.run_steps(1);
    assert!(player(&h).playing, "Space plays");
    h.key_press(egui::Key::L);
    h.run_steps(1);
    assert_eq!((player(&h).speed, player(&h).reverse), (2.0, false), "L again doubles");
    h.key_press(egui::Key::J);
    h.run_steps(1);
    assert_eq!((player(&h).speed, player(&h).reverse, player(&h).playing), (1.0, true, true), "J turns back");
    h.key_press(egui::Key::K);
    h.run_steps(1);
    assert!(!player(&h).playing, "K pauses");
    // Typing a path: Space is a character, not play.
    let field = h.get_all_by_role(egui::accesskit::Role::TextInput).next().expect("the path field");
    field.click();
    h.run_steps(1);
    h.key_press(egui::Key::Space);
    h.run_steps(1);
    assert!(!player(&h).playing, "Space in a text field types");
}

/// The frame times `n` steps on from `t` (what the player's steps must reach), read straight
/// from the stream.
fn frames_after(dir: &std::path::Path, stream: &str, t: i64, n: usize) -> Vec<i64> {
    let mut source = tessera_engine::playback::FrameSource::open(dir, stream).expect("the stream");
    let mut at = source.frame_at(t).expect("decode").expect("a frame").frame.time_us;
    (0..n)
        .map(|_| {
            at = source.neighbour(at, true).expect("index").expect("a next frame");
            at
        })
        .collect()
}

/// Twenty quick presses of `.` (one frame each, no waiting for pictures) are twenty frames,
/// and so are presses that land in the same frame of the UI.
#[test]
fn quick_frame_steps_are_all_taken() {
    let dir = common::demo_dir("quick-steps", 0.5);
    let mut h = harness(common::app_on(dir.clone()), Vec2::new(1000.0, 760.0));
    settle(&mut h);
    let t = DEMO_END_US - 10 * 60 * 1_000_000 + 3_000_000;
    h.state_mut().push(Command::SeekTo(t));
    h.run_steps(1);
    settle(&mut h);
    let start = player(&h).shown.as_ref().map(|p| p.frame.time_us).expect("a picture");
    let expected = frames_after(&dir, "cam-1-HD", start, 40);
    for _ in 0..20 {
        h.key_press(egui::Key::Period);
        h.run_steps(1);
    }
    settle(&mut h);
    let shown = player(&h).shown.as_ref().map(|p| p.frame.time_us);
    assert_eq!(shown, Some(expected[19]), "20 presses, 20 frames on from {start}");
    // Ten presses delivered to one frame of the UI (a busy frame): ten frames.
    for pressed in [true, false].repeat(10) {
        h.input_mut().events.push(egui::Event::Key {
            key: egui::Key::Period,
            physical_key: None,
            pressed,
            repeat: false,
            modifiers: egui::Modifiers::NONE,
        });
    }
    h.run_steps(1);
    settle(&mut h);
    let shown = player(&h).shown.as_ref().map(|p| p.frame.time_us);
    assert_eq!(shown, Some(expected[29]), "10 presses in one UI frame, 10 frames");
    // Steps pressed while a seek decodes count from the seek's frame.
    h.state_mut().push(Command::SeekTo(start));
    h.run_steps(1);
    for _ in 0..3 {
        h.key_press(egui::Key::Period);
    }
    h.run_steps(1);
    settle(&mut h);
    let shown = player(&h).shown.as_ref().map(|p| p.frame.time_us);
    assert_eq!(shown, Some(expected[2]), "a seek, then three steps");
}

/// Run frames as eframe does, only while the UI asks for one (a repaint after a delay), until
/// it goes idle: what a user sees when they stop touching the window.
/// `done`, checked after every frame, must hold when the window goes idle.
fn run_until_idle(h: &mut Harness<'static, TesseraApp>, done: impl Fn(&TesseraApp) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let delay = h.output().viewport_output.get(&egui::ViewportId::ROOT).map_or(Duration::MAX, |v| v.repaint_delay);
        if delay > Duration::from_secs(1) {
            assert!(done(h.state()), "the window went idle before it was done: {:?}", h.state().archive);
            return;
        }
        assert!(Instant::now() < deadline, "the window never went idle");
        std::thread::sleep(delay.max(Duration::from_millis(1)));
        h.run_steps(1);
    }
}

/// Stepping through an event, every frame shows the event's detection box once settled.
#[test]
fn stepped_frames_inside_an_event_show_its_box() {
    let dir = common::demo_dir("step-boxes", 0.5);
    let db = tessera_storage::EventDb::open_read(&dir).expect("events");
    let video_from_ms = (DEMO_END_US - 25 * 60 * 1_000_000) / 1000;
    let event = db
        .list_events("cam-1", video_from_ms, DEMO_END_US / 1000)
        .expect("list")
        .into_iter()
        .find(|e| e.last_ms - e.first_ms >= 5_000)
        .expect("an event of 5 s or more");
    let mut h = harness(common::app_on(dir.clone()), Vec2::new(1000.0, 760.0));
    settle(&mut h);
    h.state_mut().push(Command::SeekTo((event.first_ms + 300) * 1000));
    h.run_steps(1);
    settle(&mut h);
    let mut missing = Vec::new();
    for _ in 0..15 {
        h.key_press(egui::Key::Period);
        h.run_steps(1);
        // As eframe runs the window: no frame unless one was asked for. A picture whose
        // boxes have not come yet keeps asking for frames (the answer wakes nothing).
        run_until_idle(&mut h, |app| {
            active(app).is_none_or(|p| {
                p.shown.as_ref().is_none_or(|s| p.event_boxes_for.as_ref().is_some_and(|(_, t)| *t == s.frame.time_us))
            })
        });
        let p = player(&h);
        let t = p.shown.as_ref().map(|s| s.frame.time_us).expect("a picture");
        let current = p.event_boxes_for.as_ref().is_some_and(|(_, at)| *at == t);
        let stored = db.boxes_at("cam-1", t.div_euclid(1000), 1000).expect("boxes");
        let has = current && p.event_boxes.iter().any(|b| b.class == event.class);
        if !has {
            missing.push((t, stored.len(), p.event_boxes_for.clone()));
        }
    }
    assert!(missing.is_empty(), "frames of event {event:?} without its box: {missing:?}");
}

/// At 800×600 the transport keeps to two rows inside the video's column with the go-to field
/// whole, and Play and Pause are one width (the bar does not shift when playback starts).
#[test]
fn the_transport_fits_a_small_window_and_play_does_not_shift_it() {
    let mut h = harness(demo_app("small-transport", 0.1), Vec2::new(800.0, 600.0));
    settle(&mut h);
    h.state_mut().push(Command::SeekTo(DEMO_END_US - 60_000_000));
    h.run_steps(1);
    settle(&mut h);
    let side = h.state().layout.side_panel;
    let play = h.get_all_by_label("Play").next().expect("a Play button").rect();
    let minus = h.get_by_label("−1m").rect();
    let goto = match &h.state().archive {
        ArchiveState::Open { grid, .. } => grid.goto.rect.expect("the go-to field drawn"),
        other => panic!("{other:?}"),
    };
    assert!(goto.right() <= side.left() + 0.5, "the go-to field {goto:?} runs under the side panel {side:?}");
    assert!(goto.left() >= minus.left() - 200.0 && goto.width() >= 100.0, "the go-to field is whole: {goto:?}");
    let row = play.height() + 4.0;
    assert!(goto.top() < play.top() + 2.0 * row, "the transport takes more than two rows: {play:?} {goto:?}");
    let timeline = h.state().layout.timeline_panel;
    assert!(goto.bottom() <= timeline.top(), "the go-to field is cut by the timeline: {goto:?} {timeline:?}");
    transport_play(&h);
    h.run_steps(2);
    let pause = h.get_by_label("Pause").rect();
    assert_eq!((pause.left(), pause.width()), (play.left(), play.width()), "Pause takes Play's place");
    h.key_press(egui::Key::Space);
    h.run_steps(1);
    // Every speed shows in the list at once: 64× without scrolling.
    // The lowest list left of the side panel (the tile's stream picker is above it).
    h.get_all_by_role(egui::accesskit::Role::ComboBox)
        .filter(|n| n.rect().right() <= side.left())
        .max_by(|a, b| a.rect().top().total_cmp(&b.rect().top()))
        .expect("the speed list by the transport")
        .click();
    h.run_steps(2);
    let fastest = h.get_by_label("64×").rect();
    let slowest = h.get_by_label("1/8×").rect();
    assert!(fastest.bottom() <= 600.0 && slowest.top() >= 0.0, "the speed list fits: {slowest:?} … {fastest:?}");
}
