//! The Projects panel as labellers and operators meet it on the demo: project 1 is ready and
//! the player draws its boxes over a labelled clip of `cam-1-HD`; project 2 is pending, and
//! its Populate button starts a background population (the real `tessera` binary) that the
//! panel watches reach `ready`.

#![allow(clippy::unwrap_used)]

mod common;

use common::{DEMO_END_US, active, app_on, harness, player, settle, wait_until};
use egui::Vec2;
use egui_kittest::kittest::{NodeT, Queryable};
use tessera::demo::{DemoArgs, write_demo};
use tessera::ui::{ArchiveState, Command, TesseraApp};
use tessera_storage::observations::Catalog;

fn status_of(app: &TesseraApp, id: i64) -> Option<String> {
    match &app.archive {
        ArchiveState::Open { observations: Some(p), .. } => {
            p.states.iter().find(|s| s.id == id).map(|s| s.status.clone())
        }
        _ => None,
    }
}

#[test]
fn labelled_boxes_at_the_playhead_and_a_population_watched_to_ready() {
    let dir = std::env::temp_dir().join("tessera-gui-projects");
    let _ = std::fs::remove_dir_all(&dir);
    let args = DemoArgs {
        dir: None,
        hours: 0.3,
        cameras: 2,
        end: Some(tessera_storage::UnixMicros(DEMO_END_US)),
        event_days: 1.0,
        no_gui: true,
        no_sky: true,
        no_labels: false,
    };
    write_demo(&dir, &args).unwrap();
    // Where the first labelled clip of cam-1-HD is (its header was recorded at populate).
    let labels_dir = dir.join("labels");
    let catalog = Catalog::open(&labels_dir, false).unwrap();
    let clip = catalog.video_record(1001).unwrap().expect("project 1 was populated by the demo");
    drop(catalog);

    let mut app = app_on(dir);
    app.tessera_exe = env!("CARGO_BIN_EXE_tessera").into();
    let mut h = harness(app, Vec2::new(1400.0, 900.0));
    settle(&mut h);
    h.get_by_label("Projects").click(); // the tab
    h.run_steps(1);
    assert!(h.query_all_by_label("Projects").count() >= 2, "the tab and the panel");
    wait_until(&mut h, "project states", |app| {
        status_of(app, 1).as_deref() == Some("ready") && status_of(app, 2).as_deref() == Some("pending")
    });
    h.run_steps(1);
    assert_eq!(h.query_all_by_label("Table settings").count(), 0, "the embedded table has no settings to change");

    // Eight seconds into the clip someone is on screen: their boxes are drawn over the picture.
    assert_eq!(player(&h).player.stream, "cam-1-HD");
    let at = clip.start_utc_us + 8_000_000;
    h.state_mut().push(Command::SeekTo(at));
    h.run_steps(1);
    wait_until(&mut h, "boxes at the playhead", |app| {
        active(app).is_some_and(|p| {
            p.observations.as_ref().is_some_and(|b| {
                b.stream == "cam-1-HD"
                    && !b.rows.is_empty()
                    && p.shown.as_ref().is_some_and(|s| s.frame.time_us == b.t_us)
            })
        })
    });
    let labels = player(&h).observations.clone().unwrap();
    assert_eq!(labels.classification, 1001);
    assert_eq!((labels.width, labels.height), (640, 360));
    assert!(labels.rows.iter().all(|r| r.label == "person" || r.label == "car"), "{labels:?}");

    // The operator populates project 2 and watches it reach ready.
    let buttons: Vec<_> = h.query_all_by_label("Populate").collect();
    assert_eq!(buttons.len(), 2, "one per project");
    buttons[1].click();
    h.run_steps(1);
    wait_until(&mut h, "project 2 ready", |app| status_of(app, 2).as_deref() == Some("ready"));
    match &h.state().archive {
        ArchiveState::Open { observations: Some(p), .. } => {
            let s = p.states.iter().find(|s| s.id == 2).unwrap();
            assert!(s.rows > 0 && s.error.is_none(), "{s:?}");
        }
        other => panic!("{other:?}"),
    }

    // An operator repopulates project 2 at another rate from the shell: its fps field follows.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["hypertable", "populate", "--catalog"])
        .arg(&labels_dir)
        .args(["--project", "2", "--fps", "2", "--sync"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    wait_until(&mut h, "the new rate", |app| match &app.archive {
        ArchiveState::Open { observations: Some(p), .. } => {
            p.states.iter().any(|s| s.id == 2 && s.fps == "2" && s.status == "ready")
        }
        _ => false,
    });
    h.run_steps(2);
    let fields: Vec<String> = h
        .query_all_by_label("fps")
        .filter(|n| n.accesskit_node().role() != egui::accesskit::Role::Label)
        .filter_map(|n| n.accesskit_node().value().map(|v| v.to_string()))
        .collect();
    assert_eq!(fields.len(), 2, "{fields:?}");
    assert_eq!(fields[1], "2", "project 2's field shows the rate it was last populated at");
}
