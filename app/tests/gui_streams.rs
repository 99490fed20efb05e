//! The GUI opens an archive on a worker thread and lists its streams.

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use tessera::demo::{DemoArgs, write_demo};
use tessera::ui::{ArchiveState, TesseraApp};

#[test]
fn lists_the_streams_of_an_archive() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("demo");
    let args = DemoArgs {
        dir: None,
        hours: 0.2,
        cameras: 2,
        end: None,
        event_days: 1.0,
        no_gui: true,
        no_sky: true,
        no_labels: true,
    };
    write_demo(&dir, &args).expect("demo");
    let mut harness = Harness::new_ui_state(|ui, app: &mut TesseraApp| app.ui(ui), TesseraApp::new(Some(dir)));
    for _ in 0..200 {
        harness.run_steps(1);
        if matches!(harness.state().archive, ArchiveState::Open { .. }) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    harness.run_steps(2);
    assert!(matches!(harness.state().archive, ArchiveState::Open { .. }), "{:?}", harness.state().archive);
    // Each stream is listed (and the first one is also named by the player).
    assert!(harness.query_all_by_label("cam-1-HD").count() >= 1);
    assert_eq!(harness.query_all_by_label("cam-2-HD").count(), 1);
}

#[test]
fn reports_a_folder_that_is_not_an_archive() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut harness =
        Harness::new_ui_state(|ui, app: &mut TesseraApp| app.ui(ui), TesseraApp::new(Some(tmp.path().join("nope"))));
    for _ in 0..200 {
        harness.run_steps(1);
        if matches!(harness.state().archive, ArchiveState::Failed { .. }) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(matches!(harness.state().archive, ArchiveState::Failed { .. }));
}
