//! The aircraft overlay as a user meets it: the demo's `cam-1-HD` is tied to a sky camera, so
//! on first start the player plays it with the Aircraft list beside it; at a moment with
//! traffic in view, markers are drawn over the picture and the list names them; a click on an
//! aircraft's button jumps to when it enters the frame.

#![allow(clippy::unwrap_used)]

mod common;

use common::{DEMO_END_US, active, app_on, harness, player, settle, wait_until};
use egui::Vec2;
use egui_kittest::kittest::{NodeT, Queryable};
use tessera::demo::{DemoArgs, write_demo};
use tessera::ui::{ArchiveState, Command};
use tessera_engine::trajectories::feed::{SkyFeed, SkyLink};

/// A moment of the recording with an aircraft in the demo camera's frame (asked of the same
/// feed the overlay uses), and that aircraft.
fn moment_with_traffic(dir: &std::path::Path, from_us: i64, to_us: i64) -> (i64, String) {
    let link = SkyLink {
        camera: tessera_engine::trajectories::projection::demo_camera(),
        store: dir.join(tessera::demo::DEMO_STORE),
    };
    let mut feed = SkyFeed::start(link).unwrap();
    let mut t = from_us as f64 / 1e6 + 60.0;
    while t < to_us as f64 / 1e6 - 60.0 {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            feed.poll();
            feed.want(t);
            if !feed.loading(t) {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the sky feed answers");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let aircraft = feed.aircraft_at(t).unwrap();
        if let Some(a) = aircraft.iter().find(|a| a.projection.in_frame) {
            return ((t * 1e6) as i64, a.callsign.clone());
        }
        t += 30.0;
    }
    panic!("no aircraft in the demo camera's view during the recording");
}

#[test]
fn aircraft_are_drawn_listed_and_jumped_to() {
    let dir = std::env::temp_dir().join("tessera-gui-sky");
    let _ = std::fs::remove_dir_all(&dir);
    let args = DemoArgs {
        dir: None,
        hours: 0.3,
        cameras: 1,
        end: Some(tessera_storage::UnixMicros(DEMO_END_US)),
        event_days: 1.0,
        no_gui: true,
        no_sky: false,
        no_labels: true,
    };
    let summary = write_demo(&dir, &args).unwrap();
    let (at_us, callsign) = moment_with_traffic(&dir, summary.start_us, summary.end_us);

    let mut h = harness(app_on(dir), Vec2::new(1300.0, 900.0));
    settle(&mut h);
    assert!(player(&h).sky.is_some(), "cam-1-HD plays with its sky camera");
    assert!(h.query_all_by_label("Aircraft").count() >= 2, "the tab and the list beside the player");
    h.state_mut().push(Command::SeekTo(at_us));
    h.run_steps(1);
    wait_until(&mut h, "aircraft at the picture's time", |app| {
        active(app).is_some_and(|p| {
            p.sky.as_ref().is_some_and(|s| s.at_utc.is_some() && s.aircraft.iter().any(|a| a.callsign == callsign))
        })
    });
    h.run_steps(2);
    let in_view = h.query_all_by_label(&callsign).count();
    assert!(in_view >= 1, "{callsign} is named in the list");
    assert!(h.query_all_by_label_contains("in view").count() >= 2, "the summary and the aircraft say so");

    // An aircraft in view entered the frame already (not at its next trajectory point).
    let overlay = player(&h).sky.as_ref().unwrap();
    let t = overlay.at_utc.unwrap();
    for a in overlay.aircraft.iter().filter(|a| a.projection.in_frame) {
        let enter = a.enters_frame_at.expect("an aircraft in view has entered");
        assert!(enter <= t, "{} is in view at {t} but enters at {enter}", a.callsign);
    }
    assert_eq!(
        h.query_all_by_label_contains("enters in").count(),
        overlay.aircraft.iter().filter(|a| a.enters_frame_at.is_some_and(|e| e - t >= 1.0)).count()
    );

    // Jump to when an aircraft enters the frame: the playhead goes there, the aircraft is in
    // view, and the rows stay where they were (the pointer is still over the list).
    let rows = |h: &egui_kittest::Harness<'static, tessera::ui::TesseraApp>| -> Vec<String> {
        h.query_all_by_label_contains(" km · ")
            .filter_map(|n| n.accesskit_node().value())
            .map(|l| l.rsplit(" · ").next().unwrap_or_default().to_string())
            .collect()
    };
    let before = rows(&h);
    let buttons: Vec<_> = h
        .query_all_by_label_contains("enter")
        .filter(|n| n.accesskit_node().role() == egui::accesskit::Role::Button)
        .collect();
    assert!(!buttons.is_empty(), "entered/enters buttons");
    // The last button: an aircraft other than the first in the list, if there is one.
    let clicked = buttons.len() - 1;
    let overlay = player(&h).sky.as_ref().unwrap();
    let with_entry: Vec<_> = before
        .iter()
        .filter_map(|id| overlay.aircraft.iter().find(|a| a.source_id == *id && a.enters_frame_at.is_some()))
        .collect();
    let target_aircraft = with_entry[clicked].source_id.clone();
    let target = with_entry[clicked].enters_frame_at.unwrap();
    let target_us = overlay.video_us_of(target);
    buttons[clicked].click();
    h.run_steps(2);
    let playhead = match &h.state().archive {
        ArchiveState::Open { timeline, .. } => timeline.playhead_us.unwrap(),
        _ => panic!("archive closed"),
    };
    assert!((playhead - target_us).abs() < 250_000, "jumped to {playhead}, wanted {target_us}");
    wait_until(&mut h, "aircraft at the entry's time", |app| {
        active(app).is_some_and(|p| p.sky.as_ref().is_some_and(|s| s.at_utc.is_some_and(|t| (t - target).abs() < 0.25)))
    });
    h.run_steps(2);
    let overlay = player(&h).sky.as_ref().unwrap();
    let entered = overlay.aircraft.iter().find(|a| a.source_id == target_aircraft).unwrap_or_else(|| {
        panic!(
            "{target_aircraft} within range at {:?}, entry {target}: {:?}",
            overlay.at_utc,
            overlay.aircraft.iter().map(|a| (&a.source_id, a.enters_frame_at)).collect::<Vec<_>>()
        )
    });
    assert!(
        entered.enters_frame_at.is_some_and(|e| (e - target).abs() < 0.01),
        "the same entry: {:?}",
        entered.enters_frame_at
    );
    assert!(entered.projection.in_frame, "the picture the jump lands on shows {target_aircraft} in the frame");
    let after = rows(&h);
    let common: Vec<&String> = before.iter().filter(|id| after.contains(id)).collect();
    let common_after: Vec<&String> = after.iter().filter(|id| before.contains(id)).collect();
    assert_eq!(common, common_after, "the list keeps its order across the jump");
}
