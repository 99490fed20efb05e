//! The timeline panel, rendered with the real wgpu pipeline on the software renderer:
//! snapshots at the main zoom levels, and the interactions (wheel zoom anchored at the
//! pointer, drag to pan, double-click to fit, click to seek, keys, legend toggles).

mod common;

use common::{harness, settle, snapshot_options};
use egui::{Pos2, Vec2};
use egui_kittest::kittest::Queryable;
use tessera::demo::{DemoArgs, write_demo};
use tessera::ui::{ArchiveState, Command, TesseraApp};
use tessera_engine::timeline::TimeView;
use tessera_engine::timeline::ticks::Clock;

/// 2026-11-01T12:00:00Z: the demo's pinned end, and the pinned "now".
const END_US: i64 = 1_793_534_400_000_000;

/// A fixed directory per test: its path is on screen, so it must not vary between runs.
fn demo_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-gui-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn demo_app(dir: &std::path::Path) -> TesseraApp {
    let args = DemoArgs {
        dir: None,
        hours: 2.0,
        cameras: 2,
        end: Some(tessera_storage::UnixMicros(END_US)),
        event_days: 2.0,
        no_gui: true,
        no_sky: true,
        no_labels: true,
    };
    write_demo(dir, &args).expect("demo");
    let mut app = TesseraApp::new(Some(dir.to_owned()));
    app.clock = Clock::Utc;
    app.pinned_now_us = Some(END_US + 600_000_000);
    app
}

fn view(h: &egui_kittest::Harness<'static, TesseraApp>) -> TimeView {
    match &h.state().archive {
        ArchiveState::Open { timeline, .. } => timeline.view,
        other => panic!("archive not open: {other:?}"),
    }
}

fn set_view(h: &mut egui_kittest::Harness<'static, TesseraApp>, v: TimeView) {
    h.state_mut().push(Command::SetTimeView(v));
    h.run_steps(1);
    settle(h);
}

#[test]
fn timeline_at_main_zoom_levels() {
    let mut h = harness(demo_app(&demo_dir("zoom")), Vec2::new(1000.0, 760.0));
    settle(&mut h);
    h.snapshot_options("timeline_fit_all", &snapshot_options());
    for (name, span_us) in
        [("timeline_6h", 6 * 3_600_000_000), ("timeline_10min", 600_000_000), ("timeline_20s", 20_000_000)]
    {
        set_view(&mut h, TimeView::new(END_US - span_us * 3 / 4, span_us));
        h.snapshot_options(name, &snapshot_options());
    }
}

#[test]
fn player_panel_shows_the_frame_at_the_playhead() {
    let mut h = harness(demo_app(&demo_dir("player")), Vec2::new(1000.0, 760.0));
    settle(&mut h);
    h.snapshot_options("player_no_frame_yet", &snapshot_options());
    // Seek (as a click on the timeline does) into the last hour of video.
    let t = END_US - 20 * 60 * 1_000_000 + 7_000_000;
    h.state_mut().push(Command::SeekTo(t));
    h.run_steps(1);
    settle(&mut h);
    let shown = match &h.state().archive {
        ArchiveState::Open { grid, timeline, .. } => {
            let p = grid.active().expect("a player");
            let shown = p.shown.as_ref().map(|s| s.frame.time_us);
            assert!(p.notice.is_none(), "{:?}", p.notice);
            assert_eq!(timeline.playhead_us, shown, "the timeline playhead follows the player");
            shown
        }
        other => panic!("{other:?}"),
    };
    let shown = shown.expect("a frame is shown");
    assert!(shown <= t && t - shown < 250_000, "latest frame at or before the seek: {shown} vs {t}");
    h.snapshot_options("player_frame", &snapshot_options());
    // One frame forward with the transport button.
    h.get_by_label(">|").click();
    h.run_steps(1);
    settle(&mut h);
    match &h.state().archive {
        ArchiveState::Open { grid, .. } => {
            let p = grid.active().expect("a player");
            let next = p.shown.as_ref().map(|s| s.frame.time_us).unwrap_or_default();
            assert!((next - shown - 200_000).abs() < 1000, "next frame 200 ms later: {next}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn timeline_interactions() {
    let mut h = harness(demo_app(&demo_dir("interactions")), Vec2::new(1000.0, 760.0));
    settle(&mut h);
    set_view(&mut h, TimeView::new(END_US - 3_600_000_000, 3_600_000_000));
    let (rect, strip) = match &h.state().archive {
        ArchiveState::Open { timeline, .. } => (timeline.rect, timeline.layout.strips[0].1),
        _ => panic!("not open"),
    };
    let frac = |x: f32| f64::from((x - rect.left()) / rect.width());
    // On the first camera's strip (under the axis and the filmstrip).
    let y = strip.top() + 20.0;
    let x_left = rect.left() + 100.0;

    // Wheel zoom keeps the time under the pointer in place.
    let before = view(&h);
    let pointer = Pos2::new(x_left + 200.0, y);
    h.hover_at(pointer);
    h.run_steps(1);
    h.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: Vec2::new(0.0, 120.0),
        modifiers: egui::Modifiers::NONE,
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Wheel,
    });
    for _ in 0..20 {
        h.run_steps(1);
    }
    let zoomed = view(&h);
    assert!(zoomed.span_us < before.span_us, "wheel up zooms in: {before:?} → {zoomed:?}");
    // The anchor time moved by less than a couple of pixels' worth.
    let anchor_fraction = |v: &TimeView, t: i64| v.x_of(t);
    let t_anchor = before.time_at(frac(pointer.x));
    assert!((anchor_fraction(&zoomed, t_anchor) - anchor_fraction(&before, t_anchor)).abs() < 0.01);

    // Drag to pan: dragging right shows earlier time.
    let start = view(&h);
    h.drag_at(Pos2::new(500.0, y));
    h.run_steps(1);
    h.hover_at(Pos2::new(600.0, y));
    h.run_steps(1);
    h.drop_at(Pos2::new(600.0, y));
    h.run_steps(1);
    assert!(view(&h).start_us < start.start_us, "drag right pans to earlier times");

    // Keys: + zooms in, - zooms out, arrows pan.
    h.hover_at(Pos2::new(500.0, y));
    let v = view(&h);
    h.key_press(egui::Key::Minus);
    h.run_steps(1);
    assert_eq!(view(&h).span_us, (v.span_us * 2).min(tessera_engine::timeline::view::MAX_SPAN_US));
    let v = view(&h);
    h.key_press(egui::Key::ArrowRight);
    h.run_steps(1);
    assert!(view(&h).start_us > v.start_us);

    // Double-click fits all data (well after the last click, or egui sees a triple click).
    let p = Pos2::new(500.0, y);
    h.event(egui::Event::PointerMoved(p));
    h.run_steps(40);
    // kittest's clock stands still, so every click lands at the same instant and egui counts
    // the third as a triple click: move the clock on, then double-click within one frame.
    h.input_mut().time = Some(1000.0);
    h.run_steps(1);
    for pressed in [true, false, true, false] {
        h.event(egui::Event::PointerButton {
            pos: p,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
    }
    h.run_steps(2);
    let fit = view(&h);
    assert!(fit.span_us > 2 * 86_400_000_000 - 1, "double-click fits the two days of events: {fit:?}");

    // A single click seeks: the playhead lands at the clicked time.
    set_view(&mut h, TimeView::new(END_US - 3_600_000_000, 3_600_000_000));
    let click = Pos2::new(400.0, y);
    h.event(egui::Event::PointerMoved(click));
    // The events thread answers what is under the pointer first (a click on an event goes
    // to its start): wait for that answer, so the picture does not depend on the race.
    let rect = match &h.state().archive {
        ArchiveState::Open { timeline, .. } => timeline.rect,
        _ => panic!("archive closed"),
    };
    let at = view(&h).time_at(f64::from((click.x - rect.left()) / rect.width()));
    common::wait_until(&mut h, "the events under the pointer", |app| match &app.archive {
        ArchiveState::Open { timeline, .. } => {
            timeline.hover.as_ref().is_some_and(|hv| hv.from_us <= at && at <= hv.to_us)
        }
        _ => false,
    });
    h.event(egui::Event::PointerButton {
        pos: click,
        button: egui::PointerButton::Primary,
        pressed: true,
        modifiers: egui::Modifiers::NONE,
    });
    h.event(egui::Event::PointerButton {
        pos: click,
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
    h.run_steps(2);
    let playhead = match &h.state().archive {
        ArchiveState::Open { timeline, .. } => timeline.playhead_us,
        _ => None,
    };
    let v = view(&h);
    let expected = v.time_at(frac(click.x));
    assert!(playhead.is_some_and(|p| (p - expected).abs() < v.span_us / 100), "{playhead:?} vs {expected}");
    // The tooltip's preview (and the picture) arrive from worker threads: wait for them.
    settle(&mut h);
    h.snapshot_options("timeline_playhead", &snapshot_options());

    // Legend toggle hides a class row.
    h.get_by_label("person").click();
    h.run_steps(1);
    settle(&mut h);
    h.snapshot_options("timeline_person_hidden", &snapshot_options());
}

/// `+` and `−` zoom about the playhead when it is in view (it stays where it was), else about
/// the view's centre.
#[test]
fn keys_zoom_about_the_playhead() {
    let mut h = harness(demo_app(&demo_dir("zoom-keys")), Vec2::new(1000.0, 760.0));
    settle(&mut h);
    let hour = TimeView::new(END_US - 3_600_000_000, 3_600_000_000);
    set_view(&mut h, hour);
    let playhead = hour.time_at(0.2);
    h.state_mut().push(Command::PlayheadMoved(playhead));
    h.run_steps(1);
    h.key_press(egui::Key::Plus);
    h.run_steps(1);
    let zoomed = view(&h);
    assert_eq!(zoomed.span_us, hour.span_us / 2, "+ halves the span");
    assert!((zoomed.x_of(playhead) - 0.2).abs() < 1e-6, "the playhead stays put: {}", zoomed.x_of(playhead));
    h.key_press(egui::Key::Minus);
    h.run_steps(1);
    let out = view(&h);
    assert_eq!(out.span_us, hour.span_us);
    assert!((out.x_of(playhead) - 0.2).abs() < 1e-6, "− too: {}", out.x_of(playhead));
    // Out of view: about the centre.
    set_view(&mut h, hour);
    h.state_mut().push(Command::PlayheadMoved(hour.start_us - 60_000_000));
    h.run_steps(1);
    h.key_press(egui::Key::Plus);
    h.run_steps(1);
    let zoomed = view(&h);
    assert_eq!(zoomed.time_at(0.5), hour.time_at(0.5), "the centre stays put");
}
