//! The egui application. Panels read snapshots and push commands; archive loading, tiles and
//! video run on named worker threads (`tessera_engine`) so the UI thread never touches the disk
//! or a database. Failures reach the user as toasts ([`toasts`]).

mod app;
pub mod clip;
pub mod command;
pub mod format;
pub mod grid;
pub mod observations;
pub mod offscreen;
mod paint;
pub mod player_panel;
pub mod previews;
pub mod review;
pub mod settings;
pub mod skim;
pub mod sky_overlay;
mod streams;
pub mod timeline_image;
pub mod timeline_panel;
pub mod toasts;

pub use app::{ArchiveState, DIALOG_FAILED_WITHIN, FolderPicker, SHORTCUTS, SideTab, TesseraApp, WindowLayout};
pub use command::Command;
pub use tessera_engine::archive_loader::{ArchiveSnapshot, CameraTrack, load_snapshot};

use std::path::PathBuf;

/// GPU tiles for the timeline: 2048 slots × 8 KiB = 16 MiB.
pub const ATLAS_SLOTS: u32 = 2048;
/// Camera strips drawn per frame at most.
pub const MAX_STRIPS: u32 = 64;

/// Create the wgpu pipelines the panels draw with and hand them to egui_wgpu's callback
/// resources (once, at start-up; kittest harnesses call it too).
pub fn install_renderers(render_state: &egui_wgpu::RenderState) {
    install_renderers_with(render_state, tessera_render::timeline::DEFAULT_UPLOAD_BUDGET);
}

/// As [`install_renderers`], with a per-frame tile upload budget (tests render single
/// frames, so they lift it to get complete pictures).
pub fn install_renderers_with(render_state: &egui_wgpu::RenderState, upload_budget: u32) {
    let mut renderer = tessera_render::timeline::TimelineRenderer::new(
        &render_state.device,
        render_state.target_format,
        ATLAS_SLOTS,
        MAX_STRIPS,
    );
    renderer.upload_budget = upload_budget;
    let video = tessera_render::video::VideoRenderer::new(&render_state.device, render_state.target_format);
    let mut egui_renderer = render_state.renderer.write();
    egui_renderer.callback_resources.insert(renderer);
    egui_renderer.callback_resources.insert(video);
}

/// Open the GUI window, optionally on an archive.
pub fn run(archive: Option<PathBuf>) -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default().with_title("Tessera").with_inner_size([1280.0, 800.0]),
        renderer: eframe::Renderer::Wgpu,
        ..Default::default()
    };
    eframe::run_native(
        "Tessera",
        options,
        Box::new(move |cc| {
            if let Some(render_state) = &cc.wgpu_render_state {
                install_renderers(render_state);
            }
            // Settings: a small file read once here, before the first frame.
            let path = settings::default_path();
            let (settings, warning) = path.as_deref().map(settings::load).unwrap_or_default();
            cc.egui_ctx.set_theme(if settings.light_theme { egui::Theme::Light } else { egui::Theme::Dark });
            let mut app = TesseraApp::with_settings(archive, settings, path);
            if let Some(warning) = warning {
                app.toasts.error("Settings could not be read", warning);
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}
