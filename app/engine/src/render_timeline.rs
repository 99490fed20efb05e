//! The timeline strips rendered offscreen with the app's own wgpu pipeline, as a PNG (+ a
//! layout saying which pixels are which): `tessera render-timeline` and the GUI's timeline
//! image.

use crate::tile_feed::{TileRequest, coverage_masks, masks_of};
use crate::timeline::{CameraRows, Palette, StripGeometry, TimeView, plan_strip};
use anyhow::Context;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tessera_render::offscreen::{self, Headless, Target};
use tessera_render::timeline::{TileData, TileStyle, TimelineRenderer};
use tessera_storage::EventDb;
use tessera_storage::UnixMicros;

/// Row height and pitch of the offscreen strips, and the gap between cameras.
pub const ROW_HEIGHT: f32 = 8.0;
pub const ROW_PITCH: f32 = 10.0;
pub const CAMERA_GAP: f32 = 12.0;
pub const MARGIN: f32 = 4.0;
/// Clear colour between strips.
pub const CLEAR: [u8; 3] = [20, 20, 22];

/// What to draw: `cameras` of `archive` (top to bottom) over `[from_us, to_us)` (whole
/// milliseconds), `width` pixels wide, in `style`. `now_s` pins the clock (unix seconds):
/// later columns are drawn as the future; `None` is now.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineSpec {
    pub archive: PathBuf,
    pub cameras: Vec<String>,
    pub from_us: i64,
    pub to_us: i64,
    pub width: u32,
    pub now_s: Option<i64>,
    /// `Presence`: the class colour wherever a detection is; `Coverage`: brighter where more
    /// of the time under a pixel has the class (the GUI's default).
    pub style: TileStyle,
}

/// A drawn timeline: the PNG and which pixels are which.
#[derive(Debug, Clone)]
pub struct RenderedTimeline {
    pub png: Vec<u8>,
    pub layout: Layout,
}

/// The pixel layout of a drawn timeline (`--layout`'s JSON): the time span across
/// `x0..x1` and each strip's rows.
#[derive(Debug, Clone, Serialize)]
pub struct Layout {
    pub x0: u32,
    pub x1: u32,
    pub t0_ms: i64,
    pub t1_ms: i64,
    pub rows: Vec<LayoutRow>,
}

/// One class row of one camera's strip.
#[derive(Debug, Clone, Serialize)]
pub struct LayoutRow {
    pub camera: String,
    pub class: String,
    pub y0: u32,
    pub y1: u32,
    pub color: [u8; 3],
}

/// Why a [`TimelineSpec`] cannot be drawn, naming its fields with `names` (`from`, `to`,
/// `width`: the CLI passes its flags so the message names what the user typed).
pub fn check(spec: &TimelineSpec, names: [&str; 3]) -> anyhow::Result<()> {
    let [from, to, width] = names;
    // Far inside i64 for every µs computation below (years 9999 BCE … 9999 CE).
    let limit_ms = tessera_storage::events::MAX_TIME_MS;
    for (name, t) in [(from, spec.from_us), (to, spec.to_us)] {
        if t.div_euclid(1000).abs() > limit_ms {
            anyhow::bail!("{name} {t} is out of range (years -9999 … 9999)");
        }
    }
    if spec.to_us.div_euclid(1000) <= spec.from_us.div_euclid(1000) {
        anyhow::bail!("{to} must be after {from} (at least 1 ms)");
    }
    if !(1..=16_384).contains(&spec.width) {
        anyhow::bail!("{width} {} is out of range (1..=16384)", spec.width);
    }
    Ok(())
}

/// Draw the timeline `spec` names offscreen (the app's own wgpu pipeline) as a PNG.
pub fn render(spec: &TimelineSpec) -> anyhow::Result<RenderedTimeline> {
    check(spec, ["from", "to", "width"])?;
    let t0_ms = spec.from_us.div_euclid(1000);
    let t1_ms = spec.to_us.div_euclid(1000);
    let now_s = spec.now_s.unwrap_or_else(|| UnixMicros::now().secs_floor());
    let db = EventDb::open_read(&spec.archive)?;
    let service = db.tile_service();
    let palette = Palette::builtin();
    let view = TimeView { start_us: t0_ms * 1000, span_us: (t1_ms - t0_ms) * 1000 };
    let width = spec.width as f32;

    let mut layout = Layout { x0: 0, x1: spec.width, t0_ms, t1_ms, rows: Vec::new() };
    let mut plans = Vec::new();
    let mut y = MARGIN;
    for (source, camera) in spec.cameras.iter().enumerate() {
        let camera_id = db.string_id(camera)?;
        let classes = match camera_id {
            Some(id) => db.events().camera_classes(id)?,
            None => Vec::new(),
        };
        let rows = CameraRows::new(camera, source as u32, &classes, &palette);
        let mut fetched: HashMap<(i8, i64), TileData> = HashMap::new();
        let mut failure = None;
        let mut tile = |level: i8, index: i64| -> TileData {
            fetched
                .entry((level, index))
                .or_insert_with(|| {
                    let masks = service.get_any(camera_id, level, index, now_s).map_err(anyhow::Error::from).and_then(
                        |(t, _)| match spec.style {
                            TileStyle::Presence => Ok(masks_of(&t, &classes)),
                            TileStyle::Coverage => {
                                let request = TileRequest { source: source as u32, level, index, now_s };
                                coverage_masks(&service, camera_id, &request, &t, &classes).map(|(m, _)| m)
                            }
                        },
                    );
                    match masks {
                        Ok(Some(m)) => TileData::Masks { generation: 0, masks: Arc::from(m) },
                        Ok(None) => TileData::Empty,
                        Err(e) => {
                            failure = Some(e);
                            TileData::Empty
                        }
                    }
                })
                .clone()
        };
        let geometry = StripGeometry { x0: 0.0, y0: y, width, row_height: ROW_HEIGHT, row_pitch: ROW_PITCH };
        let mut plan = plan_strip(&rows, &|_| true, geometry, &view, now_s.saturating_mul(1_000_000), &mut tile);
        plan.style = spec.style;
        if let Some(e) = failure {
            return Err(e);
        }
        for (i, row) in rows.rows.iter().enumerate() {
            let y0 = (y + ROW_PITCH * i as f32) as u32;
            layout.rows.push(LayoutRow {
                camera: camera.clone(),
                class: row.class.clone(),
                y0,
                y1: y0 + ROW_HEIGHT as u32,
                color: row.color,
            });
        }
        y += ROW_PITCH * rows.rows.len() as f32 + CAMERA_GAP;
        plans.push(plan);
    }
    let height = (y - CAMERA_GAP + MARGIN).max(1.0) as u32;

    let gpu = Headless::new().map_err(|e| anyhow::anyhow!("{e}"))?;
    let tiles_needed: usize = plans.iter().flat_map(|p| p.levels.iter()).map(|l| l.tiles.len()).sum();
    let mut renderer = TimelineRenderer::new(
        &gpu.device,
        offscreen::TARGET_FORMAT,
        (tiles_needed as u32).max(1),
        plans.len().max(1) as u32,
    );
    renderer.upload_budget = u32::MAX;
    let target = Target::new(&gpu.device, spec.width, height);
    offscreen::draw(&gpu, &mut renderer, &target, &plans, CLEAR);
    let rgba = offscreen::read_back(&gpu, &target).map_err(|e| anyhow::anyhow!("{e}"))?;
    let image = image::RgbaImage::from_raw(spec.width, height, rgba).context("readback has the wrong size")?;
    let mut png = Vec::new();
    image.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).context("cannot encode the PNG")?;
    Ok(RenderedTimeline { png, layout })
}

/// Draw `spec` and write the PNG to `out` (atomically) and, when asked, the layout JSON to
/// `layout`.
pub fn write(spec: &TimelineSpec, out: &Path, layout: Option<&Path>) -> anyhow::Result<()> {
    let drawn = render(spec)?;
    crate::output::write_atomically(out, &drawn.png)?;
    if let Some(path) = layout {
        std::fs::write(path, serde_json::to_vec(&drawn.layout)?)
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    Ok(())
}
