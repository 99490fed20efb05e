//! From a time view to strip plans: the fine level (one column ≈ one pixel), the blend towards
//! the next, the tiles each level spans, and the class rows with their bits and colours (bits
//! as the tile feed numbers classes, colours from the UI's palette).

use super::palette::Palette;
use super::view::TimeView;
use crate::tile_feed::{CameraClasses, MAX_CLASSES};
use arrayvec::ArrayVec;
use tessera_render::timeline::{
    DEPTHS, L_MAX, LevelPlan, MAX_ROWS, StripPlan, TILES_PER_LEVEL, TileData, level_for, level_geometry,
};

/// One class row of a camera strip.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub class: String,
    pub class_id: u32,
    /// Bit in the atlas masks: the class's rank by id, stable as classes are added.
    pub bit: u32,
    pub color: [u8; 3],
}

/// A camera's rows, sorted by class name.
#[derive(Clone, Debug, PartialEq)]
pub struct CameraRows {
    pub camera: String,
    /// Atlas source id (one per camera).
    pub source: u32,
    pub rows: Vec<Row>,
}

impl CameraRows {
    /// `classes` as `(class id, name)` in id order (see `EventDb::camera_classes`).
    pub fn new(camera: &str, source: u32, classes: &[(u32, String)], palette: &Palette) -> Self {
        let mut rows: Vec<Row> = classes
            .iter()
            .take(MAX_CLASSES)
            .enumerate()
            .map(|(bit, (id, name))| Row {
                class: name.clone(),
                class_id: *id,
                bit: bit as u32,
                color: palette.color(name),
            })
            .collect();
        rows.sort_by(|a, b| a.class.cmp(&b.class));
        Self { camera: camera.to_owned(), source, rows }
    }

    /// The rows of a camera as the tile feed numbers its classes, coloured by `palette`.
    pub fn of(classes: &CameraClasses, palette: &Palette) -> Self {
        Self::new(&classes.camera, classes.source, &classes.classes, palette)
    }
}

/// Where a strip goes, in physical target pixels.
#[derive(Clone, Copy, Debug)]
pub struct StripGeometry {
    pub x0: f32,
    pub y0: f32,
    pub width: f32,
    pub row_height: f32,
    pub row_pitch: f32,
}

/// Plan one camera strip for `view`; `tile` says what is known of each (level, index).
/// `shown` filters rows (the legend's toggles).
pub fn plan_strip(
    rows: &CameraRows,
    shown: &dyn Fn(&Row) -> bool,
    geometry: StripGeometry,
    view: &TimeView,
    now_us: i64,
    tile: &mut dyn FnMut(i8, i64) -> TileData,
) -> StripPlan {
    let width = geometry.width.max(1.0);
    let seconds_per_px = view.span_us as f64 / 1e6 / f64::from(width);
    let (level, blend) = level_for(seconds_per_px);
    let t0_s = view.start_us as f64 / 1e6;
    let levels = (0..DEPTHS)
        .map(|d| {
            let lvl = (i32::from(level) + d as i32).min(i32::from(L_MAX)) as i8;
            let (tile0, bit0, bits_per_px, count) = level_geometry(lvl, t0_s, seconds_per_px, width);
            LevelPlan {
                level: lvl,
                tile0,
                bit0,
                bits_per_px,
                tiles: (0..count as i64).take(TILES_PER_LEVEL).map(|k| tile(lvl, tile0 + k)).collect(),
            }
        })
        .collect();
    // Fixed-capacity vectors: planning a frame allocates nothing.
    let shown_rows: ArrayVec<(u32, [u8; 3]), MAX_ROWS> =
        rows.rows.iter().filter(|r| shown(r)).take(MAX_ROWS).map(|r| (r.bit, r.color)).collect();
    let height = geometry.row_pitch * shown_rows.len() as f32;
    StripPlan {
        source: rows.source,
        rect: [geometry.x0, geometry.y0, geometry.x0 + width, geometry.y0 + height],
        row_height: geometry.row_height,
        row_pitch: geometry.row_pitch,
        rows: shown_rows,
        blend,
        future_x: (view.x_of(now_us) * f64::from(width)).clamp(-1.0, f64::from(width) + 1.0) as f32,
        levels,
        style: Default::default(),
    }
}
