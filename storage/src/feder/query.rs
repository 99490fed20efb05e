//! A flight query (feder's `FlightQuery`) and its exact predicates.
//!
//! The predicates here are the definition; the engine ([`super::engine`]) and the sidecar
//! ([`super::sidecar`]) only choose which trajectories and points reach them, so results do
//! not depend on how candidates were found. Semantics follow feder 1.2.1 except where feder is
//! wrong (the float32 R-tree, see [`Query::rtree_sql`]) and one Tessera rule: a trajectory
//! whose filtered point list is empty is not returned.

use super::points::{MISSING, Point};

/// Which time relation selects a trajectory (exactly one applies; default intersects).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimeOp {
    #[default]
    Intersects,
    Within,
    StartsIn,
    EndsIn,
}

/// The spatial relation (needs bounds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpaceOp {
    /// At least one point satisfies every set bound (at any time, as feder does).
    Crosses,
    /// The trajectory's extent lies inside every complete pair of bounds.
    Within,
}

/// Bounds in degrees and feet; any may be unset.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Bounds {
    pub min_lat: Option<f64>,
    pub max_lat: Option<f64>,
    pub min_lon: Option<f64>,
    pub max_lon: Option<f64>,
    pub min_alt: Option<f64>,
    pub max_alt: Option<f64>,
}

impl Bounds {
    /// `min_lat,min_lon,max_lat,max_lon`.
    pub fn from_box(min_lat: f64, min_lon: f64, max_lat: f64, max_lon: f64) -> Self {
        Bounds {
            min_lat: Some(min_lat),
            max_lat: Some(max_lat),
            min_lon: Some(min_lon),
            max_lon: Some(max_lon),
            ..Bounds::default()
        }
    }

    fn is_empty(&self) -> bool {
        *self == Bounds::default()
    }

    fn pairs(&self) -> [(Option<f64>, Option<f64>); 3] {
        [(self.min_lat, self.max_lat), (self.min_lon, self.max_lon), (self.min_alt, self.max_alt)]
    }
}

/// A metadata condition: exact, or a `*` pattern matched as SQLite `LIKE` (so
/// case-insensitive for ASCII, and `_` matches one character, as in feder).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextMatch(pub String);

impl TextMatch {
    fn sql(&self, column: &str) -> String {
        if self.0.contains('*') { format!("{column} LIKE ?") } else { format!("{column} = ?") }
    }

    fn value(&self) -> String {
        self.0.replace('*', "%")
    }
}

/// One flight query over `[from, to]` (POSIX seconds, inclusive).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Query {
    pub from: i64,
    pub to: i64,
    pub time: TimeOp,
    pub space: Option<SpaceOp>,
    pub bounds: Bounds,
    pub callsign: Option<TextMatch>,
    pub orig: Option<TextMatch>,
    pub dest: Option<TextMatch>,
    pub source: Option<i64>,
    /// Return only the points that pass the time and space filters.
    pub filter_waypoints: bool,
}

/// A query feder would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the end of the time window ({to}) is before its start ({from})")]
    Reversed { from: i64, to: i64 },
    #[error("bounds are set but no spatial operation (crosses or within) is chosen")]
    BoundsWithoutOp,
    #[error("a spatial operation needs bounds")]
    OpWithoutBounds,
    #[error("spatially within needs both ends of each bound it uses ({0} has one)")]
    HalfPair(&'static str),
    #[error("bound {0} is not a finite number")]
    NotFinite(&'static str),
}

/// A trajectory's exact extent, as the R-tree would hold it without float32 rounding.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Extent {
    pub min_ts: i64,
    pub max_ts: i64,
    pub min_lat: f64,
    pub max_lat: f64,
    pub min_lon: f64,
    pub max_lon: f64,
    /// Over points that have `alt`; both [`MISSING`] when none has.
    pub min_alt: f64,
    pub max_alt: f64,
}

impl Extent {
    /// The extent of (deduplicated) points; `None` for no points.
    pub fn of(points: impl IntoIterator<Item = Point>) -> Option<Extent> {
        let mut e: Option<Extent> = None;
        for p in points {
            let t = i64::from(p.time);
            let x = e.get_or_insert(Extent {
                min_ts: t,
                max_ts: t,
                min_lat: p.lat,
                max_lat: p.lat,
                min_lon: p.lon,
                max_lon: p.lon,
                min_alt: f64::INFINITY,
                max_alt: f64::NEG_INFINITY,
            });
            x.min_ts = x.min_ts.min(t);
            x.max_ts = x.max_ts.max(t);
            x.min_lat = x.min_lat.min(p.lat);
            x.max_lat = x.max_lat.max(p.lat);
            x.min_lon = x.min_lon.min(p.lon);
            x.max_lon = x.max_lon.max(p.lon);
            if p.alt != MISSING {
                x.min_alt = x.min_alt.min(p.alt);
                x.max_alt = x.max_alt.max(p.alt);
            }
        }
        e.map(|mut x| {
            if x.min_alt > x.max_alt {
                (x.min_alt, x.max_alt) = (MISSING, MISSING);
            }
            x
        })
    }
}

/// Seconds the R-tree's float32 times may be off by (rounded outward): one float32 step is
/// 128 s near 1.75e9 and 256 s from 2^31; twice that is safe.
fn rtree_slack_s(t: i64) -> i64 {
    if t >= 1 << 31 { 512 } else { 256 }
}
/// Degrees and feet the R-tree's float32 lat/lon/alt may be off by (float32 ulp at 180° is
/// 1.5e-5°, at 1e6 ft 0.0625 ft).
const RTREE_SLACK_DEG: f64 = 1e-3;
const RTREE_SLACK_FT: f64 = 1.0;

impl Query {
    /// feder's validity rules.
    pub fn validate(&self) -> Result<(), QueryError> {
        if self.to < self.from {
            return Err(QueryError::Reversed { from: self.from, to: self.to });
        }
        let b = &self.bounds;
        for (name, v) in [
            ("min_lat", b.min_lat),
            ("max_lat", b.max_lat),
            ("min_lon", b.min_lon),
            ("max_lon", b.max_lon),
            ("min_alt", b.min_alt),
            ("max_alt", b.max_alt),
        ] {
            if v.is_some_and(|v| !v.is_finite()) {
                return Err(QueryError::NotFinite(name));
            }
        }
        match self.space {
            None if !b.is_empty() => Err(QueryError::BoundsWithoutOp),
            Some(_) if b.is_empty() => Err(QueryError::OpWithoutBounds),
            Some(SpaceOp::Within) => {
                for ((lo, hi), name) in b.pairs().into_iter().zip(["latitude", "longitude", "altitude"]) {
                    if lo.is_some() != hi.is_some() {
                        return Err(QueryError::HalfPair(name));
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// UTC days (days since 1970-01-01) whose files may hold matches: feder visits
    /// `date(from) − 1 ..= date(to) + 1`.
    pub fn days(&self) -> std::ops::RangeInclusive<i64> {
        self.from.div_euclid(86_400) - 1..=self.to.div_euclid(86_400) + 1
    }

    /// The R-tree query for candidate ids: feder's predicates with every bound widened by the
    /// float32 rounding error, so no trajectory is lost at a window edge (the exact check on
    /// the decoded points follows). `table` has the R-tree's columns. Returns SQL and its
    /// parameters.
    pub fn rtree_sql(&self, table: &str) -> (String, Vec<f64>) {
        let (t1, t2) = (self.from, self.to);
        let (lo, hi) = (t1.saturating_sub(rtree_slack_s(t1)) as f64, t2.saturating_add(rtree_slack_s(t2)) as f64);
        let mut conds: Vec<&str> = Vec::new();
        let mut params = Vec::new();
        let mut add = |cond: &'static str, v: f64| {
            conds.push(cond);
            params.push(v);
        };
        match self.time {
            TimeOp::Intersects => {
                add("max_timestamp >= ?", lo);
                add("min_timestamp <= ?", hi);
            }
            TimeOp::Within => {
                add("min_timestamp >= ?", lo);
                add("max_timestamp <= ?", hi);
            }
            TimeOp::StartsIn => {
                add("min_timestamp >= ?", lo);
                add("min_timestamp <= ?", hi);
            }
            TimeOp::EndsIn => {
                add("max_timestamp >= ?", lo);
                add("max_timestamp <= ?", hi);
            }
        }
        let b = &self.bounds;
        let axes = [
            ("min_latitude", "max_latitude", b.min_lat, b.max_lat, RTREE_SLACK_DEG),
            ("min_longitude", "max_longitude", b.min_lon, b.max_lon, RTREE_SLACK_DEG),
            ("min_altitude", "max_altitude", b.min_alt, b.max_alt, RTREE_SLACK_FT),
        ];
        let mut sql_conds: Vec<String> = conds.iter().map(|c| c.to_string()).collect();
        for (min_col, max_col, q_min, q_max, slack) in axes {
            match self.space {
                Some(SpaceOp::Crosses) => {
                    if let Some(v) = q_min {
                        sql_conds.push(format!("{max_col} >= ?"));
                        params.push(v - slack);
                    }
                    if let Some(v) = q_max {
                        sql_conds.push(format!("{min_col} <= ?"));
                        params.push(v + slack);
                    }
                }
                // Not feder's `min >= a AND max <= z`: the index box is written from every
                // stored point, and a duplicate time we drop (readers keep the first) can lie
                // outside the query box while every kept point is inside. A kept point lies in
                // both boxes, so overlap is the condition that loses nothing; the decoded
                // points decide.
                Some(SpaceOp::Within) => {
                    if let (Some(a), Some(z)) = (q_min, q_max) {
                        sql_conds.push(format!("{max_col} >= ? AND {min_col} <= ?"));
                        params.push(a - slack);
                        params.push(z + slack);
                    }
                }
                None => {}
            }
        }
        (format!("SELECT id FROM {table} WHERE {}", sql_conds.join(" AND ")), params)
    }

    /// Metadata conditions on the `trajectories` columns (`source`, `callsign`, `orig`,
    /// `dest`) and their parameters, as ` AND …` (empty when none).
    pub fn metadata_sql(&self) -> (String, Vec<rusqlite::types::Value>) {
        use rusqlite::types::Value;
        let mut sql = String::new();
        let mut params = Vec::new();
        if let Some(src) = self.source {
            sql.push_str(" AND source = ?");
            params.push(Value::Integer(src));
        }
        for (column, m) in [("callsign", &self.callsign), ("orig", &self.orig), ("dest", &self.dest)] {
            if let Some(m) = m {
                sql.push_str(" AND ");
                sql.push_str(&m.sql(column));
                params.push(Value::Text(m.value()));
            }
        }
        (sql, params)
    }

    /// The exact time relation on a trajectory's first and last point times.
    pub fn time_matches(&self, min_ts: i64, max_ts: i64) -> bool {
        let (t1, t2) = (self.from, self.to);
        match self.time {
            TimeOp::Intersects => max_ts >= t1 && min_ts <= t2,
            TimeOp::Within => min_ts >= t1 && max_ts <= t2,
            TimeOp::StartsIn => min_ts >= t1 && min_ts <= t2,
            TimeOp::EndsIn => max_ts >= t1 && max_ts <= t2,
        }
    }

    /// The exact extent-level relation (time, and `within` on space). For `crosses` this is
    /// only a necessary condition (the point check decides).
    pub fn extent_matches(&self, e: &Extent) -> bool {
        if !self.time_matches(e.min_ts, e.max_ts) {
            return false;
        }
        let b = &self.bounds;
        let axes = [(e.min_lat, e.max_lat, b.min_lat, b.max_lat), (e.min_lon, e.max_lon, b.min_lon, b.max_lon)];
        let alt = (e.min_alt, e.max_alt, b.min_alt, b.max_alt);
        match self.space {
            None => true,
            Some(SpaceOp::Within) => axes.into_iter().chain([alt]).all(|(lo, hi, q_lo, q_hi)| match (q_lo, q_hi) {
                (Some(a), Some(z)) => lo >= a && hi <= z,
                _ => true,
            }),
            Some(SpaceOp::Crosses) => axes
                .into_iter()
                .chain([alt])
                .all(|(lo, hi, q_lo, q_hi)| q_lo.is_none_or(|a| hi >= a) && q_hi.is_none_or(|z| lo <= z)),
        }
    }

    /// Whether a point satisfies the spatial bounds that apply to it (`crosses`: every set
    /// bound, an altitude bound needing `alt`; `within`: complete pairs).
    pub fn point_in_space(&self, p: &Point) -> bool {
        self.lat_lon_in_space(p.lat, p.lon) && self.alt_in_space(p.alt)
    }

    /// The lat/lon part of [`Self::point_in_space`] (decided before a record is decoded).
    #[inline]
    pub fn lat_lon_in_space(&self, lat: f64, lon: f64) -> bool {
        let b = &self.bounds;
        let within = |v: f64, lo: Option<f64>, hi: Option<f64>| match self.space {
            None => true,
            Some(SpaceOp::Crosses) => lo.is_none_or(|a| v >= a) && hi.is_none_or(|z| v <= z),
            Some(SpaceOp::Within) => match (lo, hi) {
                (Some(a), Some(z)) => v >= a && v <= z,
                _ => true,
            },
        };
        within(lat, b.min_lat, b.max_lat) && within(lon, b.min_lon, b.max_lon)
    }

    fn alt_in_space(&self, alt: f64) -> bool {
        let b = &self.bounds;
        match self.space {
            None => true,
            Some(SpaceOp::Crosses) => {
                if b.min_alt.is_none() && b.max_alt.is_none() {
                    return true;
                }
                alt != MISSING && b.min_alt.is_none_or(|a| alt >= a) && b.max_alt.is_none_or(|z| alt <= z)
            }
            Some(SpaceOp::Within) => match (b.min_alt, b.max_alt) {
                (Some(a), Some(z)) => alt != MISSING && alt >= a && alt <= z,
                _ => true,
            },
        }
    }

    /// The per-point filter of `filter_waypoints`: in the time window and in space.
    #[inline]
    pub fn point_matches(&self, p: &Point) -> bool {
        let t = i64::from(p.time);
        t >= self.from && t <= self.to && self.point_in_space(p)
    }

    /// Whether the per-point filter needs altitude (so the lat/lon pre-check is not enough).
    pub fn filters_altitude(&self) -> bool {
        self.space.is_some() && (self.bounds.min_alt.is_some() || self.bounds.max_alt.is_some())
    }
}

/// The full check of one decoded trajectory: the exact extent relation, the `crosses` point
/// check, then the point filter. Returns the points to return, or `None` when the trajectory
/// does not match (an empty filtered list does not match).
pub fn evaluate(q: &Query, points: &[Point]) -> Option<Vec<Point>> {
    let extent = Extent::of(points.iter().copied())?;
    if !q.extent_matches(&extent) {
        return None;
    }
    if q.space == Some(SpaceOp::Crosses) && !points.iter().any(|p| q.point_in_space(p)) {
        return None;
    }
    if q.filter_waypoints {
        let kept: Vec<Point> = points.iter().copied().filter(|p| q.point_matches(p)).collect();
        (!kept.is_empty()).then_some(kept)
    } else {
        Some(points.to_vec())
    }
}
