//! Shared GUI test setup: the one snapshot policy, a wgpu harness with Tessera's pipelines,
//! and waiting for background work.

#![allow(dead_code)]

use egui_kittest::{Harness, SnapshotOptions};
use std::time::{Duration, Instant};
use tessera::demo::{DemoArgs, write_demo};
use tessera::ui::player_panel::PlayerPanel;
use tessera::ui::{ArchiveState, TesseraApp};
use tessera_engine::timeline::ticks::Clock;

/// 2026-11-01T12:00:00Z: the demo's pinned end, and (plus 10 min) the pinned "now".
pub const DEMO_END_US: i64 = 1_793_534_400_000_000;

/// Encode `lavfi` (an FFmpeg test source) with libx264 and `x264` (preset, GOP, B-frames…)
/// into the Annex-B file `path`: real H.264 from a real encoder, as users record it.
pub fn x264(path: &std::path::Path, lavfi: &str, x264: &[&str]) -> std::path::PathBuf {
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", lavfi, "-c:v", "libx264"])
        .args(x264)
        .args(["-pix_fmt", "yuv420p", "-f", "h264"])
        .arg(path)
        .status()
        .expect("ffmpeg runs (scripts/setup.sh installs it)");
    assert!(status.success(), "ffmpeg made {}", path.display());
    path.to_owned()
}

/// A demo archive of two cameras (`hours` of video, two days of events) in a fixed directory
/// per test: its path is on screen, so it must not vary between runs.
pub fn demo_dir(name: &str, hours: f64) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-gui-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    let args = DemoArgs {
        dir: None,
        hours,
        cameras: 2,
        end: Some(tessera_storage::UnixMicros(DEMO_END_US)),
        event_days: 2.0,
        no_gui: true,
        no_sky: true,
        no_labels: true,
    };
    write_demo(&dir, &args).expect("demo");
    dir
}

/// The app on `dir`, in UTC, "now" pinned just after the demo's end.
pub fn app_on(dir: std::path::PathBuf) -> TesseraApp {
    let mut app = TesseraApp::new(Some(dir));
    app.clock = Clock::Utc;
    app.pinned_now_us = Some(DEMO_END_US + 600_000_000);
    app
}

/// [`app_on`] a fresh [`demo_dir`].
pub fn demo_app(name: &str, hours: f64) -> TesseraApp {
    app_on(demo_dir(name, hours))
}

/// The active tile's player panel of the open archive.
pub fn player<'a>(h: &'a Harness<'static, TesseraApp>) -> &'a PlayerPanel {
    active(h.state()).unwrap_or_else(|| panic!("no player: {:?}", h.state().archive))
}

/// The active tile's player panel, if the archive is open and has one.
pub fn active(app: &TesseraApp) -> Option<&PlayerPanel> {
    match &app.archive {
        ArchiveState::Open { grid, .. } => grid.active(),
        _ => None,
    }
}

/// Step (in real time: workers answer on their own threads) until `done` holds.
pub fn wait_until(h: &mut Harness<'static, TesseraApp>, what: &str, done: impl Fn(&TesseraApp) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(h.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}: {:?}", h.state().archive);
        h.run_steps(1);
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// One tolerance for every snapshot: software Vulkan (lavapipe) is deterministic, but text
/// anti-aliasing may differ by a few levels across Mesa builds.
pub fn snapshot_options() -> SnapshotOptions {
    SnapshotOptions::new().threshold(0.6).max_failed_pixels(20)
}

/// A harness drawing `app` with egui_wgpu on the software renderer, Tessera's pipelines
/// installed (as eframe does at start-up).
pub fn harness(app: TesseraApp, size: egui::Vec2) -> Harness<'static, TesseraApp> {
    let render_state = egui_kittest::wgpu::create_render_state(
        egui_kittest::wgpu::default_wgpu_setup(),
        egui_wgpu::RendererOptions::PREDICTABLE,
    );
    tessera::ui::install_renderers_with(&render_state, u32::MAX);
    Harness::builder()
        .with_size(size)
        .renderer(egui_kittest::wgpu::WgpuTestRenderer::from_render_state(render_state))
        .build_ui_state(|ui, app: &mut TesseraApp| app.ui(ui), app)
}

/// Step until the archive is open, every tile the timeline asked for has arrived and every
/// video tile has answered its last request (the same wait as `tessera screenshot`).
pub fn settle(harness: &mut Harness<'static, TesseraApp>) {
    tessera::ui::offscreen::settle(harness, Duration::from_secs(30)).expect("the window settles");
}
