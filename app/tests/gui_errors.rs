//! Errors reach the user: a corrupt tile blob becomes a toast while the rest of the timeline
//! still draws (the tile feed survives the failed request), a stream that cannot be played
//! becomes a toast, a desktop without a folder dialog gets a path field instead, and an
//! archive that cannot be opened becomes a toast while the open one stays in use.

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

/// A folder that looks like an archive but whose `tessera.sqlite` is garbage.
fn broken_archive(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-gui-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("broken archive folder");
    std::fs::write(dir.join("tessera.sqlite"), vec![0x5a; 4096]).expect("garbage tessera.sqlite");
    dir
}

/// The open archive's path and whether its timeline has its cameras.
fn open_archive(app: &TesseraApp) -> Option<(std::path::PathBuf, bool)> {
    match &app.archive {
        ArchiveState::Open { path, timeline, .. } => Some((path.clone(), !timeline.model.cameras.is_empty())),
        _ => None,
    }
}

fn failed_open_toast(app: &TesseraApp, path: &std::path::Path) -> Option<tessera::ui::toasts::Toast> {
    app.toasts.list.iter().find(|t| t.title == format!("Cannot open {}", path.display())).cloned()
}

#[test]
fn an_archive_that_cannot_open_leaves_the_open_one_working_until_another_opens() {
    let (good, other) = (demo_dir("keep-open", 0.2), demo_dir("keep-open-next", 0.2));
    let (broken, missing) = (broken_archive("keep-open-broken"), std::env::temp_dir().join("tessera-gui-no-such-dir"));
    let _ = std::fs::remove_dir_all(&missing);
    let mut h = harness(app_on(good.clone()), Vec2::new(1000.0, 760.0));
    settle(&mut h);
    for bad in [&broken, &missing] {
        h.state_mut().push(Command::OpenArchive(bad.clone()));
        h.run_steps(1);
        assert!(
            open_archive(h.state()).is_some(),
            "the open archive stays while another loads: {:?}",
            h.state().archive
        );
        wait_until(&mut h, "the failure's toast", |app| failed_open_toast(app, bad).is_some());
        settle(&mut h);
        let toast = failed_open_toast(h.state(), bad).expect("the toast");
        assert!(!toast.detail.is_empty(), "the toast says why");
        let title = format!("Cannot open {}", bad.display());
        assert!(h.query_by_label_contains(&title).is_some(), "the toast is on screen");
        assert_eq!(open_archive(h.state()), Some((good.clone(), true)), "the archive and its timeline");
    }
    // The video still plays.
    let t = common::DEMO_END_US - 600_000_000;
    h.state_mut().push(Command::SeekTo(t));
    settle(&mut h);
    let shown = common::player(&h).shown.as_ref().map(|s| s.frame.time_us);
    assert!(shown.is_some_and(|s| (s - t).abs() < 1_000_000), "{shown:?}");
    // Another archive opens: the failures' toasts go, other errors stay.
    h.state_mut().push(Command::Error { title: "Something else".into(), detail: "stays".into() });
    h.state_mut().push(Command::OpenArchive(other.clone()));
    h.run_steps(1);
    wait_until(&mut h, "the other archive", |app| open_archive(app).is_some_and(|(p, ..)| p == other));
    settle(&mut h);
    let titles: Vec<String> = h.state().toasts.list.iter().map(|t| t.title.clone()).collect();
    assert_eq!(titles, ["Something else"], "only the failures to open went");
}

#[test]
fn with_no_archive_open_a_failure_says_so_in_the_window_until_one_opens() {
    let good = demo_dir("failed-first", 0.2);
    let broken = broken_archive("failed-first-broken");
    let mut h = harness(app_on(broken.clone()), Vec2::new(1000.0, 760.0));
    settle(&mut h);
    assert!(matches!(h.state().archive, ArchiveState::Failed { .. }), "{:?}", h.state().archive);
    assert!(failed_open_toast(h.state(), &broken).is_some(), "a toast names the folder");
    let message = format!("Cannot open {}: ", broken.display());
    assert!(h.query_by_label_contains(&message).is_some(), "the window says so");
    h.state_mut().push(Command::OpenArchive(good.clone()));
    h.run_steps(1);
    settle(&mut h);
    assert_eq!(open_archive(h.state()).map(|(p, ..)| p), Some(good));
    assert!(failed_open_toast(h.state(), &broken).is_none(), "the failure's toast went");
}

/// While another archive loads, the open one stays on screen and the menu says what is
/// opening. The other archive's `tessera.sqlite` is a FIFO: its loader waits until the test
/// opens it too.
#[cfg(unix)]
#[test]
fn while_another_archive_loads_the_menu_says_so() {
    let good = demo_dir("opening", 0.2);
    let slow = std::env::temp_dir().join("tessera-gui-opening-slow");
    let _ = std::fs::remove_dir_all(&slow);
    std::fs::create_dir_all(slow.join("fsv")).expect("slow archive");
    let fifo = slow.join("tessera.sqlite");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let mut h = harness(app_on(good.clone()), Vec2::new(1000.0, 760.0));
    settle(&mut h);
    h.state_mut().push(Command::OpenArchive(slow.clone()));
    h.run_steps(3);
    assert!(h.state().opening.is_some(), "the loader waits on the FIFO");
    assert_eq!(open_archive(h.state()), Some((good.clone(), true)));
    let label = format!("Opening {} …", slow.display());
    assert!(h.query_by_label(&label).is_some(), "the menu says what is opening");
    assert!(!tessera::ui::offscreen::settled(h.state()), "not settled while an archive loads");
    // Let the loader's open of the FIFO return: its reads fail (a pipe cannot seek), and the
    // open archive stays.
    drop(std::fs::OpenOptions::new().write(true).open(&fifo).expect("open the FIFO"));
    wait_until(&mut h, "the failure's toast", |app| failed_open_toast(app, &slow).is_some());
    settle(&mut h);
    assert_eq!(open_archive(h.state()).map(|(p, ..)| p), Some(good));
    assert!(h.query_by_label(&label).is_none(), "the indicator went");
}
