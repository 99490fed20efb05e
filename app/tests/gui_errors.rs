//! Errors reach the user: a corrupt tile blob becomes a toast while the rest of the timeline
//! still draws (the tile feed survives the failed request), a stream that cannot be played
//! becomes a toast, and a desktop without a folder dialog gets a path field instead.

mod common;

use common::{app_on, demo_dir, harness, settle, snapshot_options, wait_until};
use egui::Vec2;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use tessera::ui::{ArchiveState, Command, TesseraApp};

#[test]
fn a_corrupt_tile_blob_shows_a_toast_and_the_rest_still_draws() {
    let dir = demo_dir("corrupt-tile", 0.5);
    {
        let db = rusqlite::Connection::open(dir.join("tessera.sqlite")).expect("tessera.sqlite");
        let cam: i64 = db.query_row("SELECT id FROM strings WHERE value = 'cam-1'", [], |r| r.get(0)).expect("cam-1");
        let n = db.execute("UPDATE tile SET blob = x'00ff00ff13' WHERE camera = ?1", [cam]).expect("corrupt");
        assert!(n > 0, "cam-1 has stored tiles to corrupt");
    }
    let mut h = harness(app_on(dir), Vec2::new(1000.0, 760.0));
    settle(&mut h);
    let toast = h.state().toasts.list.iter().find(|t| t.title == "Timeline tiles cannot be read").cloned();
    let toast = toast.expect("a toast for the corrupt tile");
    assert!(toast.detail.contains("cam-1"), "the details name the camera: {}", toast.detail);
    assert!(h.query_by_label_contains("Timeline tiles cannot be read").is_some(), "the toast is on screen");
    match &h.state().archive {
        ArchiveState::Open { timeline, .. } => {
            assert!(timeline.model.tiles_failed > 0);
            assert!(timeline.model.tiles_with_detections(1) > 0, "cam-2's tiles arrived after cam-1's failed");
        }
        other => panic!("{other:?}"),
    }
    // The details are one click away.
    h.get_by_label("Details").click();
    h.run_steps(2);
    assert!(h.query_by_label_contains("level").is_some(), "details show the failed request");
    h.snapshot_options("timeline_corrupt_tile", &snapshot_options());
}

#[test]
fn a_stream_that_cannot_play_shows_a_toast() {
    let mut h = harness(app_on(demo_dir("bad-stream", 0.2)), Vec2::new(1000.0, 760.0));
    settle(&mut h);
    h.state_mut().push(Command::SelectStream("cam-9-HD".into()));
    wait_until(&mut h, "the player's error", |app| app.toasts.list.iter().any(|t| t.title == "cam-9-HD: cannot play"));
    h.run_steps(2);
    assert!(h.query_by_label_contains("cannot play cam-9-HD").is_some(), "the panel says so too");
}

#[test]
fn without_a_folder_dialog_the_path_field_opens_the_archive() {
    let dir = demo_dir("no-dialog", 0.2);
    let mut app = TesseraApp::new(None);
    app.folder_picker = || None; // what rfd answers at once without a portal or zenity
    let mut h = Harness::new_ui_state(|ui, app: &mut TesseraApp| app.ui(ui), app);
    h.run_steps(1);
    h.get_by_label("Open archive…").click();
    wait_until(&mut h, "the dialog's failure", |app| app.dialog_failed);
    h.run_steps(1);
    assert!(h.query_by_label_contains("folder dialog could not open").is_some());
    let field = h.get_by_role(egui::accesskit::Role::TextInput);
    field.click();
    h.run_steps(1);
    h.get_by_role(egui::accesskit::Role::TextInput).type_text(&dir.display().to_string());
    h.run_steps(1);
    h.get_by_label("Open").click();
    wait_until(&mut h, "the archive to open", |app| matches!(app.archive, ArchiveState::Open { .. }));
    assert!(!h.state().dialog_failed, "the message goes once an archive is opened");
}
