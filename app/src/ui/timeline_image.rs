//! The timeline image the window saves: the strips [`render_timeline`] draws, with what makes
//! them readable on their own: the time axis (ticks labelled in the window's clock), each
//! camera's name beside its strip, and a legend of the classes' colours. Text is laid out by
//! egui's own fonts and copied from its glyph atlas, so the image reads like the window.

use super::clip;
use anyhow::Context;
use egui::epaint::text::{Fonts, TextOptions};
use egui::{Color32, FontDefinitions, FontId};
use image::{Rgba, RgbaImage};
use std::sync::Arc;
use tessera_engine::render_timeline::{CLEAR, RenderedTimeline};
use tessera_engine::timeline::TimeView;
use tessera_engine::timeline::ticks::{Clock, format_instant, ticks};

/// Text size (pixels), the legend's and the axis's heights, and the room around the strips.
const TEXT: f32 = 12.0;
const LEGEND_H: u32 = 20;
const AXIS_H: u32 = 22;
const PAD: u32 = 6;
/// Camera names are at most this wide.
const MAX_NAME_W: u32 = 240;
/// Ticks are at least this far apart.
const TICK_SPACING: f64 = 110.0;

const LABEL: [u8; 3] = [220, 220, 220];
const WEAK: [u8; 3] = [150, 150, 150];

/// `drawn` with its axis, camera names and legend around it, as a PNG.
pub fn annotate(drawn: &RenderedTimeline, clock: Clock) -> anyhow::Result<Vec<u8>> {
    let strips = image::load_from_memory(&drawn.png).context("the drawn timeline is not a PNG")?.to_rgba8();
    let layout = &drawn.layout;
    let mut text = TextLayer::new();

    // Camera names: beside the first row of each camera's strip.
    let mut names: Vec<(String, u32)> = Vec::new();
    for row in &layout.rows {
        if names.last().is_none_or(|(camera, _)| *camera != row.camera) {
            names.push((row.camera.clone(), row.y0));
        }
    }
    let names: Vec<_> = names.into_iter().map(|(camera, y)| (text.layout(&clip::short(&camera), LABEL), y)).collect();
    let name_w = names.iter().map(|(g, _)| g.size().x.ceil() as u32).max().unwrap_or(0).min(MAX_NAME_W);
    let left = PAD + name_w + PAD;
    let top = LEGEND_H + AXIS_H;
    let (width, height) = (left + strips.width() + PAD, top + strips.height() + PAD);
    let [r, g, b] = CLEAR;
    let mut out = RgbaImage::from_pixel(width, height, Rgba([r, g, b, 255]));
    image::imageops::overlay(&mut out, &strips, i64::from(left), i64::from(top));
    let mut placed = Vec::new();
    for (galley, y) in names {
        // Centred on the row (rows are 8 px high).
        let y = (top + y + 4).saturating_sub(galley.size().y as u32 / 2);
        placed.push((galley, PAD, y));
    }

    // The legend: one swatch and name per class, in the order of the rows.
    let mut classes: Vec<(&str, [u8; 3])> = Vec::new();
    for row in &layout.rows {
        if !classes.iter().any(|(c, _)| *c == row.class) {
            classes.push((&row.class, row.color));
        }
    }
    // The whole span, at the right end of the legend line (ticks may name only times of day).
    let span =
        format!("{} – {}", format_instant(layout.t0_ms * 1000, clock), format_instant(layout.t1_ms * 1000, clock));
    let span = text.layout(&span, WEAK);
    let span_w = span.size().x.ceil() as u32;
    let legend_end = width.saturating_sub(PAD + span_w + PAD);
    placed.push((span, width.saturating_sub(PAD + span_w), 2));
    let mut x = left;
    for (class, [r, g, b]) in classes.into_iter().take(clip::MAX_ITEMS) {
        let galley = text.layout(&clip::short(class), LABEL);
        let w = galley.size().x.ceil() as u32;
        if x + 14 + w > legend_end {
            break;
        }
        fill(&mut out, x, 5, 10, 10, [r, g, b]);
        placed.push((galley, x + 14, 2));
        x += 14 + w + 14;
    }

    // The axis: a mark and a label at each tick, and a faint line through the strips.
    let strip_w = f64::from(strips.width());
    let view = TimeView { start_us: layout.t0_ms * 1000, span_us: (layout.t1_ms - layout.t0_ms).max(1) * 1000 };
    for tick in ticks(&view, strip_w, TICK_SPACING, clock) {
        let fraction = (tick.t_us - view.start_us) as f64 / view.span_us as f64;
        if !(0.0..1.0).contains(&fraction) {
            continue;
        }
        let x = left + (fraction * strip_w) as u32;
        fill(&mut out, x, top - 6, 1, 6, WEAK);
        for y in (top..top + strips.height()).step_by(3) {
            blend(&mut out, x, y, [90, 90, 90], 0.5);
        }
        placed.push((text.layout(&tick.label, WEAK), x + 3, LEGEND_H + 1));
    }

    text.draw(&mut out, &placed);
    let mut png = Vec::new();
    out.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).context("cannot encode the PNG")?;
    Ok(png)
}

/// Text laid out with egui's default fonts at one pixel per point.
struct TextLayer {
    fonts: Fonts,
}

type Placed = (Arc<egui::Galley>, u32, u32);

impl TextLayer {
    fn new() -> Self {
        Self { fonts: Fonts::new(TextOptions::default(), FontDefinitions::default()) }
    }

    fn layout(&mut self, text: &str, [r, g, b]: [u8; 3]) -> Arc<egui::Galley> {
        self.fonts.with_pixels_per_point(1.0).layout_no_wrap(
            text.to_string(),
            FontId::proportional(TEXT),
            Color32::from_rgb(r, g, b),
        )
    }

    /// Copy each galley's glyphs from the atlas onto `out`, its top left at `(x, y)`, in the
    /// galley's colour; what falls outside is left out.
    fn draw(&self, out: &mut RgbaImage, placed: &[Placed]) {
        let atlas = self.fonts.image();
        let [atlas_w, _] = atlas.size;
        for (galley, x0, y0) in placed {
            // One section per galley (see `layout`): its colour.
            let color = galley.job.sections.first().map_or(Color32::WHITE, |s| s.format.color);
            for row in &galley.rows {
                for glyph in &row.row.glyphs {
                    let uv = glyph.uv_rect;
                    if uv.is_nothing() {
                        continue;
                    }
                    let left = (row.pos.x + glyph.pos.x + uv.offset.x).round() as i64 + i64::from(*x0);
                    let top = (row.pos.y + glyph.pos.y + uv.offset.y).round() as i64 + i64::from(*y0);
                    for v in uv.min[1]..uv.max[1] {
                        for u in uv.min[0]..uv.max[0] {
                            let Some(texel) = atlas.pixels.get(usize::from(v) * atlas_w + usize::from(u)) else {
                                continue;
                            };
                            let (x, y) = (left + i64::from(u - uv.min[0]), top + i64::from(v - uv.min[1]));
                            if let (Ok(x), Ok(y)) = (u32::try_from(x), u32::try_from(y)) {
                                let coverage = f32::from(texel.a()) / 255.0;
                                blend(out, x, y, [color.r(), color.g(), color.b()], coverage);
                            }
                        }
                    }
                }
            }
        }
    }
}

fn fill(out: &mut RgbaImage, x: u32, y: u32, w: u32, h: u32, color: [u8; 3]) {
    for yy in y..y + h {
        for xx in x..x + w {
            blend(out, xx, yy, color, 1.0);
        }
    }
}

/// Mix `color` over the pixel at `(x, y)` by `alpha` (nothing outside the image).
fn blend(out: &mut RgbaImage, x: u32, y: u32, color: [u8; 3], alpha: f32) {
    if x >= out.width() || y >= out.height() || alpha <= 0.0 {
        return;
    }
    let p = out.get_pixel_mut(x, y);
    for (c, new) in p.0.iter_mut().zip(color) {
        *c = (f32::from(*c) * (1.0 - alpha) + f32::from(new) * alpha).round() as u8;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tessera_engine::render_timeline::{Layout, LayoutRow};

    fn row(camera: &str, class: &str, y0: u32, color: [u8; 3]) -> LayoutRow {
        LayoutRow { camera: camera.into(), class: class.into(), y0, y1: y0 + 8, color }
    }

    /// The saved timeline is more than the strips: a legend swatch in each class's colour,
    /// text (camera names) left of the strips and (tick labels) above them.
    #[test]
    fn the_timeline_image_carries_its_axis_names_and_legend() {
        let (w, h) = (600, 40);
        let strips = RgbaImage::from_pixel(w, h, Rgba([20, 20, 22, 255]));
        let mut png = Vec::new();
        strips.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
        let layout = Layout {
            x0: 0,
            x1: w,
            t0_ms: 1_767_323_045_000,
            t1_ms: 1_767_323_045_000 + 3_600_000,
            rows: vec![
                row("cam-north", "person", 4, [250, 40, 40]),
                row("cam-north", "car", 14, [40, 250, 40]),
                row("cam-south", "person", 26, [250, 40, 40]),
            ],
        };
        let annotated = annotate(&RenderedTimeline { png, layout }, Clock::Utc).unwrap();
        let image = image::load_from_memory(&annotated).unwrap().to_rgba8();
        assert!(image.width() > w + 40 && image.height() > h + 30, "{}×{}", image.width(), image.height());
        let left = image.width() - w - PAD;
        let top = LEGEND_H + AXIS_H;
        let bright = |x0: u32, y0: u32, x1: u32, y1: u32| {
            (y0..y1)
                .flat_map(|y| (x0..x1).map(move |x| (x, y)))
                .filter(|&(x, y)| image.get_pixel(x, y).0[0] > 120)
                .count()
        };
        assert!(bright(0, top, left, top + h) > 20, "camera names left of the strips");
        assert!(bright(left, LEGEND_H, image.width(), top) > 20, "tick labels above the strips");
        let colours: Vec<[u8; 3]> = image.pixels().map(|p| [p.0[0], p.0[1], p.0[2]]).collect();
        assert!(colours.contains(&[250, 40, 40]) && colours.contains(&[40, 250, 40]), "legend swatches");
    }
}
