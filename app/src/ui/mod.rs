//! The egui application. Panels read snapshots and push commands; archive loading runs on a
//! named worker thread so the UI thread never touches the disk.

mod app;
mod streams;

pub use app::{ArchiveState, TesseraApp};

use std::path::PathBuf;

/// Open the GUI window, optionally on an archive.
pub fn run(archive: Option<PathBuf>) -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default().with_title("Tessera").with_inner_size([1280.0, 800.0]),
        renderer: eframe::Renderer::Wgpu,
        ..Default::default()
    };
    eframe::run_native("Tessera", options, Box::new(move |_cc| Ok(Box::new(TesseraApp::new(archive)))))
        .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}
