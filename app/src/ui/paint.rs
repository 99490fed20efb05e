//! Opaque fills with holes: a background is painted around what covers it opaquely (the
//! video pictures), never under it. The software renderer (llvmpipe, on virtual desktops
//! without a GPU) pays for every layer of every pixel, and one full-window layer costs about
//! as much as a bare egui window's whole frame (BENCHMARKS.md).

use egui::emath::GuiRounding;
use egui::{Color32, Mesh, Pos2, Rect, Shape};

/// `color` over `outer` except `holes`, as one mesh of rectangles on whole physical pixels.
/// It covers exactly the pixels `rect_filled(outer, …)` covers (egui rounds a filled
/// rectangle to pixels too) less those of the holes (clipped to `outer`; they may overlap),
/// each once: a hole's pixels can be drawn by something opaque with nothing beneath.
pub fn fill_around(outer: Rect, holes: &[Rect], pixels_per_point: f32, color: Color32) -> Shape {
    let outer = outer.round_to_pixels(pixels_per_point);
    if !outer.is_positive() {
        return Shape::Noop;
    }
    let holes: Vec<Rect> = holes
        .iter()
        .map(|h| h.round_to_pixels(pixels_per_point).intersect(outer))
        .filter(|h| h.is_positive())
        .collect();
    // Bands between consecutive horizontal edges; in each, the spans no hole covers.
    let mut ys: Vec<f32> = holes.iter().flat_map(|h| [h.top(), h.bottom()]).collect();
    ys.extend([outer.top(), outer.bottom()]);
    ys.sort_by(f32::total_cmp);
    ys.dedup();
    let mut mesh = Mesh::default();
    let mut spans: Vec<(f32, f32)> = Vec::with_capacity(holes.len());
    for band in ys.windows(2) {
        let (y0, y1) = (band[0], band[1]);
        spans.clear();
        spans.extend(holes.iter().filter(|h| h.top() <= y0 && h.bottom() >= y1).map(|h| (h.left(), h.right())));
        spans.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut x = outer.left();
        for &(left, right) in &spans {
            if left > x {
                mesh.add_colored_rect(Rect::from_min_max(Pos2::new(x, y0), Pos2::new(left, y1)), color);
            }
            x = x.max(right);
        }
        if x < outer.right() {
            mesh.add_colored_rect(Rect::from_min_max(Pos2::new(x, y0), Pos2::new(outer.right(), y1)), color);
        }
    }
    Shape::mesh(mesh)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The area the mesh covers, and whether any two of its rectangles overlap.
    fn covered(shape: &Shape) -> (f32, bool) {
        let Shape::Mesh(mesh) = shape else { return (0.0, false) };
        let rects: Vec<Rect> =
            mesh.vertices.chunks(4).map(|q| Rect::from_points(&q.iter().map(|v| v.pos).collect::<Vec<_>>())).collect();
        let overlap =
            rects.iter().enumerate().any(|(i, a)| rects[i + 1..].iter().any(|b| a.intersect(*b).is_positive()));
        (rects.iter().map(|r| r.area()).sum(), overlap)
    }

    #[test]
    fn covers_the_rounded_rectangle_less_its_holes_once() {
        let outer = Rect::from_min_max(Pos2::new(10.3, 20.6), Pos2::new(210.4, 120.5));
        assert_eq!(covered(&fill_around(outer, &[], 1.0, Color32::BLACK)), (200.0 * 100.0, false));
        // Two side-by-side pictures, one poking out of the panel, and a hole inside another.
        let holes = [
            Rect::from_min_max(Pos2::new(20.0, 30.0), Pos2::new(100.0, 80.0)),
            Rect::from_min_max(Pos2::new(102.0, 30.0), Pos2::new(300.0, 90.0)),
            Rect::from_min_max(Pos2::new(30.0, 40.0), Pos2::new(40.0, 50.0)),
        ];
        let (area, overlap) = covered(&fill_around(outer, &holes, 1.0, Color32::BLACK));
        assert_eq!(area, 200.0 * 100.0 - 80.0 * 50.0 - 108.0 * 60.0);
        assert!(!overlap);
        // On whole physical pixels at 1.5 points per pixel.
        let (area, _) = covered(&fill_around(outer, &[], 1.5, Color32::BLACK));
        let r = outer.round_to_pixels(1.5);
        assert_eq!(area, r.area());
        assert_eq!((r.left() * 1.5).fract(), 0.0);
        assert_eq!(covered(&fill_around(outer, &[outer], 1.0, Color32::BLACK)).0, 0.0);
    }
}
