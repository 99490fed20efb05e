//! Skim journey on the real window code (kittest, wgpu on the software renderer): on a 2×2
//! synced grid of four cameras, `S` turns Skim on; playing, the tiles rush through a quiet
//! span at 32× and slow to 1× where an event of a camera on screen starts (its pre-roll
//! included, none rushed past); the timeline hatches the quiet spans; `S` again restores the
//! speed chosen before.

mod common;

use common::{DEMO_END_US, harness, settle, snapshot_options, wait_until};
use egui::Vec2;
use std::time::{Duration, Instant};
use tessera::demo::{DemoArgs, write_demo};
use tessera::ui::{ArchiveState, Command, TesseraApp};
use tessera_engine::skim::{Segment, SkimSpec, plan};
use tessera_engine::timeline::ticks::Clock;
use tessera_storage::EventDb;

const MINUTE: i64 = 60_000_000;

fn playhead(app: &TesseraApp) -> i64 {
    match &app.archive {
        ArchiveState::Open { timeline, .. } => timeline.playhead_us.expect("a playhead"),
        other => panic!("{other:?}"),
    }
}

/// Every tile's (playing, speed).
fn tiles(app: &TesseraApp) -> Vec<(bool, f64)> {
    match &app.archive {
        ArchiveState::Open { grid, .. } => grid.tiles.iter().map(|t| (t.playing, t.speed)).collect(),
        _ => Vec::new(),
    }
}

/// The longest quiet span of the last 12 minutes that an event span follows, by the plan of
/// `tessera skim` (four cameras, `classes`, the defaults).
fn quiet_then_event(dir: &std::path::Path, classes: Option<&[&str]>) -> Option<(Segment, Segment)> {
    let db = EventDb::open_read(dir).expect("events");
    let spec = SkimSpec {
        cameras: (1..=4).map(|c| format!("cam-{c}")).collect(),
        from_us: DEMO_END_US - 12 * MINUTE,
        to_us: DEMO_END_US - MINUTE,
        classes: classes.map(|c| c.iter().map(|c| c.to_string()).collect()),
        speed: 1.0,
        quiet_speed: 32.0,
        preroll_us: 2_000_000,
    };
    let plan = plan(&db, &spec).expect("plan");
    plan.segments
        .windows(2)
        .filter(|w| w[0].speed == 32.0 && w[1].speed == 1.0 && w[1].to_us - w[1].from_us >= 4_000_000)
        .max_by_key(|w| w[0].to_us - w[0].from_us)
        .map(|w| (w[0].clone(), w[1].clone()))
}

#[test]
fn skim_rushes_through_quiet_spans_and_plays_events_on_a_synced_grid() {
    let dir = std::env::temp_dir().join("tessera-gui-skim");
    let _ = std::fs::remove_dir_all(&dir);
    let args = DemoArgs {
        dir: None,
        hours: 0.25,
        cameras: 4,
        end: Some(tessera_storage::UnixMicros(DEMO_END_US)),
        event_days: 0.0,
        no_gui: true,
        no_sky: true,
        no_labels: true,
    };
    write_demo(&dir, &args).expect("demo");
    // A quiet span long enough to see the rush: of every class, else of people only (the
    // legend then hides cars, and the plan follows it).
    let (hide_cars, (quiet, event)) = match quiet_then_event(&dir, None) {
        Some(found) if found.0.to_us - found.0.from_us >= 30_000_000 => (false, found),
        _ => (true, quiet_then_event(&dir, Some(&["person"])).expect("a quiet span, then people")),
    };
    assert!(quiet.to_us - quiet.from_us >= 30_000_000, "the demo has no long quiet span: {quiet:?}");
    let mut app = TesseraApp::new(Some(dir.clone()));
    app.clock = Clock::Utc;
    app.pinned_now_us = Some(DEMO_END_US + 600_000_000);
    let mut h = harness(app, Vec2::new(1200.0, 800.0));
    settle(&mut h);
    h.state_mut().push(Command::SetGrid(2));
    if hide_cars {
        h.state_mut().push(Command::ToggleClass("car".into()));
    }
    h.run_steps(1);
    settle(&mut h);
    assert_eq!(tiles(h.state()).len(), 4, "a 2×2 grid");
    // The chosen speed: 2× (L twice), paused.
    h.key_press(egui::Key::L);
    h.run_steps(1);
    h.key_press(egui::Key::L);
    h.run_steps(1);
    h.key_press(egui::Key::Space);
    h.run_steps(1);
    let start = quiet.from_us + 2_000_000;
    h.state_mut().push(Command::SeekTo(start));
    h.run_steps(1);
    settle(&mut h);
    assert!(tiles(h.state()).iter().all(|&t| t == (false, 2.0)), "paused at 2×: {:?}", tiles(h.state()));

    // Skim on: the plan arrives from the `skim` thread and the timeline draws it.
    h.key_press(egui::Key::S);
    h.run_steps(1);
    wait_until(&mut h, "the skim plan", |app| match &app.archive {
        ArchiveState::Open { timeline, grid, .. } => timeline.skim.is_some() && grid.skim,
        _ => false,
    });
    // The plan the GUI plays is the CLI's: the quiet span and the event span are in it.
    match &h.state().archive {
        ArchiveState::Open { timeline, .. } => {
            let shown = timeline.skim.as_ref().expect("a plan");
            assert!(shown.plan.segments.contains(&quiet), "{quiet:?} not in the GUI's plan");
            assert!(shown.plan.segments.contains(&event), "{event:?} not in the GUI's plan");
        }
        other => panic!("{other:?}"),
    }

    // Play: every tile rushes at 32× through the quiet span…
    h.key_press(egui::Key::Space);
    h.run_steps(1);
    wait_until(&mut h, "every tile at 32×", |app| {
        let t = tiles(app);
        t[0].0 && t.iter().all(|&(_, speed)| speed == 32.0)
    });
    let (t0, wall0) = (playhead(h.state()), Instant::now());
    // At 32× a slow frame is seconds of video: ask only for enough quiet left to time the rush.
    assert!(t0 < event.from_us - 5_000_000, "rushing from {t0}, before the event span {event:?}");
    // …until the event span's start, where every tile slows to 1× (a keyframe past the
    // start goes back to it: the event and its pre-roll are played, not rushed past).
    wait_until(&mut h, "the event span at 1×", |app| {
        let t = playhead(app);
        let ts = tiles(app);
        t >= event.from_us && ts[0].0 && ts.iter().all(|&(_, speed)| speed == 1.0)
    });
    let (t1, wall1) = (playhead(h.state()), Instant::now());
    let rate = (event.from_us - t0) as f64 / (wall1 - wall0).as_micros() as f64;
    assert!(rate > 4.0, "rushed at {rate:.1}× through {:.1} s of quiet", (event.from_us - t0) as f64 / 1e6);
    assert!(
        t1 < event.from_us + 2_000_000,
        "the event's start was rushed past: {} s in",
        (t1 - event.from_us) / 1_000_000
    );
    // Inside the event span the playhead goes at about 1×.
    let wall = Instant::now();
    while wall.elapsed() < Duration::from_millis(1500) {
        h.run_steps(1);
        std::thread::sleep(Duration::from_millis(20));
    }
    let (t2, elapsed) = (playhead(h.state()), wall.elapsed());
    let slow = (t2 - t1) as f64 / elapsed.as_micros() as f64;
    assert!(t2 < event.to_us, "still in the event span");
    assert!(slow < 2.5, "played at {slow:.1}× inside the event span");
    let ts = tiles(h.state());
    assert!(ts[0].0 && ts.iter().all(|&(_, speed)| speed == 1.0), "{ts:?}");

    // Paused at a fixed moment, the timeline shows the plan: quiet spans hatched.
    h.key_press(egui::Key::Space);
    h.run_steps(1);
    h.state_mut().push(Command::SeekTo(event.from_us));
    h.run_steps(1);
    settle(&mut h);
    h.run_steps(2);
    assert!(tiles(h.state()).iter().all(|&t| t == (false, 2.0)), "paused: the chosen speed {:?}", tiles(h.state()));
    h.snapshot_options("skim_plan_2x2", &snapshot_options());

    // Skim off while playing: the chosen speed again, and no plan on the timeline.
    h.key_press(egui::Key::Space);
    h.run_steps(1);
    h.key_press(egui::Key::S);
    h.run_steps(2);
    assert!(tiles(h.state()).iter().all(|&(_, speed)| speed == 2.0), "2× restored: {:?}", tiles(h.state()));
    match &h.state().archive {
        ArchiveState::Open { timeline, grid, .. } => assert!(timeline.skim.is_none() && !grid.skim),
        other => panic!("{other:?}"),
    }
}
