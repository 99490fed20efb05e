//! Skim plans: which stretches of a time range to watch at the review speed and which to rush
//! through (`tessera skim`, the GUI's Skim mode).
//!
//! A plan tiles `[from, to)` with [`Segment`]s in order, without gap or overlap. A stretch is
//! at `speed` exactly where an event of the chosen cameras and classes overlaps it, the
//! event's span widened by the pre-roll *before* it (never after); everywhere else it is at
//! `quiet_speed`. Neighbours of one speed are merged, and `review_s` is the wall time the
//! plan takes to play: Σ (to − from) / speed, in seconds.
//!
//! **Edges.** An event `[first_ms, last_ms]` covers both ends (its last detection is at
//! `last_ms`), so in microseconds it is the half-open `[first_ms·1000 − pre-roll,
//! last_ms·1000 + 1)`: an instantaneous event still gets one microsecond (plus its pre-roll)
//! at `speed`, and every instant it was seen is inside its segment.
//!
//! [`feed`] runs plans on a worker thread for the GUI.

pub mod feed;

use std::collections::BTreeSet;
use tessera_storage::tiles::EventSource;
use tessera_storage::{DbError, EventDb};

/// A stretch of a plan played at one speed, `[from_us, to_us)`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Segment {
    pub from_us: i64,
    pub to_us: i64,
    pub speed: f64,
}

/// The segments tiling a range and the wall time they take, seconds.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SkimPlan {
    pub segments: Vec<Segment>,
    pub review_s: f64,
}

impl SkimPlan {
    /// The segment holding `t_us`, if the plan covers it.
    pub fn segment_at(&self, t_us: i64) -> Option<&Segment> {
        let i = self.segments.partition_point(|s| s.to_us <= t_us);
        self.segments.get(i).filter(|s| s.from_us <= t_us)
    }
}

/// What to plan: events of `cameras` (of `classes`; every class when `None`) over
/// `[from_us, to_us)`.
#[derive(Clone, Debug, PartialEq)]
pub struct SkimSpec {
    pub cameras: Vec<String>,
    pub from_us: i64,
    pub to_us: i64,
    pub classes: Option<BTreeSet<String>>,
    pub speed: f64,
    pub quiet_speed: f64,
    pub preroll_us: i64,
}

/// Longest pre-roll: a day (an event itself lasts at most 24 h).
pub const MAX_PREROLL_US: i64 = 86_400_000_000;

/// Events are read this much of the range at a time, so memory follows the events of an
/// hour, not of the whole range (the plan's segments are what stays).
const CHUNK_US: i64 = 3_600_000_000;

#[derive(Debug, thiserror::Error)]
pub enum SkimError {
    /// The spec itself is wrong (the message names the field).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl SkimSpec {
    /// Refuse what no plan can be made of, naming the field.
    pub fn check(&self) -> Result<(), SkimError> {
        let invalid = |m: String| Err(SkimError::Invalid(m));
        if self.to_us.checked_sub(self.from_us).is_none_or(|d| d <= 0) {
            return invalid(format!("--from ({}) must be before --to ({})", self.from_us, self.to_us));
        }
        for (name, speed) in [("--speed", self.speed), ("--quiet-speed", self.quiet_speed)] {
            if !(speed.is_finite() && speed > 0.0) {
                return invalid(format!("{name} must be a positive number, not {speed}"));
            }
        }
        if !(0..=MAX_PREROLL_US).contains(&self.preroll_us) {
            return invalid(format!("--pre-roll must lie in 0 … 24 h, not {} µs", self.preroll_us));
        }
        Ok(())
    }
}

/// The plan of `spec` from the events in `db`.
pub fn plan(db: &EventDb, spec: &SkimSpec) -> Result<SkimPlan, SkimError> {
    spec.check()?;
    let busy = busy_spans(db, spec, CHUNK_US)?;
    Ok(tile(spec.from_us, spec.to_us, &busy, spec.speed, spec.quiet_speed))
}

/// The widened spans of the spec's events, clipped to its range, sorted and merged (touching
/// spans join), reading `chunk_us` of the range at a time.
fn busy_spans(db: &EventDb, spec: &SkimSpec, chunk_us: i64) -> Result<Vec<(i64, i64)>, DbError> {
    let events = db.events();
    let mut cameras = Vec::new();
    // Only where some camera has events is worth reading (widened by the pre-roll).
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for name in &spec.cameras {
        if let Some(id) = db.string_id(name)?
            && let Some((first_ms, last_ms)) = EventSource::bounds(&events, id)?
        {
            cameras.push(id);
            lo = lo.min(first_ms.saturating_mul(1000).saturating_sub(spec.preroll_us));
            hi = hi.max(last_ms.saturating_mul(1000).saturating_add(1));
        }
    }
    let classes: Option<BTreeSet<u32>> = match &spec.classes {
        None => None,
        Some(names) => {
            let mut ids = BTreeSet::new();
            for name in names {
                ids.extend(db.string_id(name)?); // a class no event has matches nothing
            }
            Some(ids)
        }
    };
    let mut merged: Vec<(i64, i64)> = Vec::new();
    let mut chunk_from = spec.from_us.max(lo);
    let end = spec.to_us.min(hi);
    while chunk_from < end {
        let chunk_to = chunk_from.saturating_add(chunk_us).min(end);
        // Widened spans meeting [chunk_from, chunk_to): last_us + 1 > chunk_from and
        // first_us − pre-roll < chunk_to.
        let from_ms = chunk_from.div_euclid(1000) + i64::from(chunk_from.rem_euclid(1000) != 0);
        let to_ms = chunk_to.saturating_add(spec.preroll_us - 1).div_euclid(1000);
        // Within one millisecond the two bounds can cross (from_ms = to_ms + 1) while a span
        // still meets the chunk; `spans` answers nothing for a reversed range, so ask for the
        // (superset) ordered one: the clipping below keeps exactly the spans that meet it.
        let (query_from, query_to) = (from_ms.min(to_ms), from_ms.max(to_ms));
        let mut spans = Vec::new();
        for &camera in &cameras {
            for s in events.spans(camera, query_from, query_to)? {
                if classes.as_ref().is_some_and(|c| !c.contains(&s.class)) {
                    continue;
                }
                let a = s.first_ms.saturating_mul(1000).saturating_sub(spec.preroll_us).max(chunk_from);
                let b = s.last_ms.saturating_mul(1000).saturating_add(1).min(chunk_to);
                if a < b {
                    spans.push((a, b));
                }
            }
        }
        spans.sort_unstable();
        for (a, b) in spans {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        chunk_from = chunk_to;
    }
    Ok(merged)
}

/// Tile `[from_us, to_us)` with `busy` (sorted, disjoint) at `speed` and the rest at
/// `quiet_speed`, merging neighbours of one speed.
pub fn tile(from_us: i64, to_us: i64, busy: &[(i64, i64)], speed: f64, quiet_speed: f64) -> SkimPlan {
    fn push(segments: &mut Vec<Segment>, from_us: i64, to_us: i64, speed: f64) {
        if from_us >= to_us {
            return;
        }
        match segments.last_mut() {
            Some(last) if last.speed == speed => last.to_us = to_us,
            _ => segments.push(Segment { from_us, to_us, speed }),
        }
    }
    let mut segments = Vec::new();
    let mut t = from_us;
    for &(a, b) in busy {
        let (a, b) = (a.max(t), b.min(to_us));
        if a >= b {
            continue;
        }
        push(&mut segments, t, a, quiet_speed);
        push(&mut segments, a, b, speed);
        t = b;
    }
    push(&mut segments, t, to_us, quiet_speed);
    let review_s = segments.iter().map(|s| (s.to_us - s.from_us) as f64 / s.speed).sum::<f64>() / 1e6;
    SkimPlan { segments, review_s }
}

#[cfg(test)]
mod tests;
