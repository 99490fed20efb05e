//! The time view: which span of time the timeline shows. Times are i64 µs; screen mapping is
//! f64 (f32 loses sub-second precision at today's unix times).

/// Narrowest and widest spans.
pub const MIN_SPAN_US: i64 = 1_000_000;
pub const MAX_SPAN_US: i64 = 10 * 366 * 86_400 * 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeView {
    pub start_us: i64,
    pub span_us: i64,
}

impl TimeView {
    pub fn new(start_us: i64, span_us: i64) -> Self {
        Self { start_us, span_us: span_us.clamp(MIN_SPAN_US, MAX_SPAN_US) }
    }

    pub fn end_us(&self) -> i64 {
        self.start_us + self.span_us
    }

    /// Time at a fraction `x` (0..1) of the width.
    pub fn time_at(&self, x: f64) -> i64 {
        self.start_us + (x * self.span_us as f64).round() as i64
    }

    /// Fraction of the width at time `t`.
    pub fn x_of(&self, t_us: i64) -> f64 {
        (t_us - self.start_us) as f64 / self.span_us as f64
    }

    /// Zoom by `factor` (< 1 zooms in) keeping the time under fraction `anchor` in place.
    pub fn zoom(&self, factor: f64, anchor: f64) -> Self {
        let anchor_t = self.time_at(anchor);
        let span = ((self.span_us as f64 * factor).round() as i64).clamp(MIN_SPAN_US, MAX_SPAN_US);
        Self { start_us: anchor_t - (anchor * span as f64).round() as i64, span_us: span }
    }

    /// Pan by a fraction of the width (positive moves later in time).
    pub fn pan(&self, fraction: f64) -> Self {
        Self { start_us: self.start_us + (fraction * self.span_us as f64).round() as i64, span_us: self.span_us }
    }

    /// Fit `[from, to]` with a 2 % margin each side.
    pub fn fit(from_us: i64, to_us: i64) -> Self {
        let span = (to_us - from_us).max(MIN_SPAN_US);
        let margin = span / 50;
        Self::new(from_us - margin, span + 2 * margin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoom_keeps_the_anchor_and_clamps() {
        let v = TimeView::new(1_700_000_000_000_000, 3_600_000_000);
        let anchor_t = v.time_at(0.25);
        let z = v.zoom(0.5, 0.25);
        assert_eq!(z.span_us, 1_800_000_000);
        assert!((z.time_at(0.25) - anchor_t).abs() <= 1);
        assert_eq!(v.zoom(1e-12, 0.5).span_us, MIN_SPAN_US);
        assert_eq!(v.zoom(1e12, 0.5).span_us, MAX_SPAN_US);
        assert_eq!(v.pan(0.5).start_us, v.start_us + 1_800_000_000);
        let f = TimeView::fit(0, 100_000_000);
        assert!(f.start_us < 0 && f.end_us() > 100_000_000);
    }
}
