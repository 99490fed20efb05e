//! `tessera traj query|index|project|synth`: flight trajectories from a feder store.
//!
//! Times are RFC 3339 or a number of unix seconds (feder's unit; a number of 1e11 or more is
//! taken as microseconds, Tessera's unit elsewhere).

use crate::cli::print_json;
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;
use tessera_engine::trajectories::projection::{Camera, Projector, position_at};
use tessera_storage::feder::{
    self, Bounds, Connections, FederStore, Point, Query, QueryOutput, RunOptions, Sidecar, SpaceOp, TextMatch, TimeOp,
};

#[derive(Subcommand, Debug)]
pub enum TrajCommand {
    /// Run a flight query (feder's FlightQuery) over a store.
    Query(QueryArgs),
    /// Build or refresh the sidecar index (only day files that changed).
    Index {
        #[arg(long)]
        store: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Aircraft positions at an instant, projected into a camera.
    Project {
        #[arg(long)]
        store: PathBuf,
        #[arg(long)]
        camera: PathBuf,
        /// UTC.
        #[arg(long, value_parser = parse_seconds, allow_hyphen_values = true)]
        at: f64,
        #[arg(long)]
        no_sidecar: bool,
        #[arg(long)]
        json: bool,
    },
    /// Tie a stream to a sky camera and a feder store: the player draws aircraft over it.
    Attach {
        #[arg(long)]
        archive: PathBuf,
        #[arg(long)]
        stream: String,
        #[arg(long)]
        camera: PathBuf,
        #[arg(long)]
        store: PathBuf,
    },
    /// Write synthetic traffic in feder's format (benchmark and demo data).
    Synth {
        #[arg(long)]
        store: PathBuf,
        /// First UTC day (RFC 3339 or unix seconds).
        #[arg(long, value_parser = parse_seconds, default_value = "2025-05-21T00:00:00Z")]
        from: f64,
        #[arg(long, default_value_t = 3)]
        days: u32,
        /// Departures per day.
        #[arg(long, default_value_t = 20_000)]
        flights: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Args, Debug)]
pub struct QueryArgs {
    #[arg(long)]
    store: PathBuf,
    #[arg(long, value_parser = parse_seconds, allow_hyphen_values = true)]
    from: f64,
    #[arg(long, value_parser = parse_seconds, allow_hyphen_values = true)]
    to: f64,
    #[arg(long, value_enum, default_value_t = TimeArg::Intersects)]
    time: TimeArg,
    /// At least one point inside every bound (at any time, as feder).
    #[arg(long, conflicts_with = "within_box")]
    crosses: bool,
    /// The whole trajectory inside the bounds.
    #[arg(long)]
    within_box: bool,
    /// min_lat,min_lon,max_lat,max_lon (degrees).
    #[arg(long, value_parser = parse_bbox, allow_hyphen_values = true)]
    bbox: Option<[f64; 4]>,
    /// Altitude bounds (feet, pressure altitude).
    #[arg(long, allow_hyphen_values = true)]
    min_alt: Option<f64>,
    #[arg(long, allow_hyphen_values = true)]
    max_alt: Option<f64>,
    /// Origin airport (`*` wildcards).
    #[arg(long)]
    orig: Option<String>,
    #[arg(long)]
    dest: Option<String>,
    #[arg(long)]
    callsign: Option<String>,
    /// Data source (1 FlightAware, 2 Contrails/Spire).
    #[arg(long)]
    source: Option<i64>,
    /// Return only the points in the time window and the bounds.
    #[arg(long)]
    filter_waypoints: bool,
    /// Run N timed queries after one warm-up.
    #[arg(long)]
    repeat: Option<u32>,
    /// Ignore the sidecar index.
    #[arg(long)]
    no_sidecar: bool,
    /// Worker threads (default: the machine's cores).
    #[arg(long)]
    threads: Option<usize>,
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum TimeArg {
    Intersects,
    Within,
    StartsIn,
    EndsIn,
}

/// RFC 3339, or unix seconds (numbers ≥ 1e11 are microseconds).
pub fn parse_seconds(text: &str) -> Result<f64, String> {
    let text = text.trim();
    if let Ok(n) = text.parse::<f64>() {
        if !n.is_finite() {
            return Err(format!("{text:?} is not a time"));
        }
        return Ok(if n.abs() >= 1e11 { n / 1e6 } else { n });
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp() as f64 + f64::from(t.timestamp_subsec_nanos()) / 1e9)
        .map_err(|e| format!("{text:?} is neither RFC 3339 nor unix seconds: {e}"))
}

fn parse_bbox(text: &str) -> Result<[f64; 4], String> {
    let [min_lat, min_lon, max_lat, max_lon] = super::parse_numbers(text)?[..] else {
        return Err("expected min_lat,min_lon,max_lat,max_lon".into());
    };
    Ok([min_lat, min_lon, max_lat, max_lon])
}

impl QueryArgs {
    fn query(&self) -> anyhow::Result<Query> {
        let mut bounds = match self.bbox {
            Some([a, b, c, d]) => Bounds::from_box(a, b, c, d),
            None => Bounds::default(),
        };
        bounds.min_alt = self.min_alt;
        bounds.max_alt = self.max_alt;
        let q = Query {
            from: self.from.floor() as i64,
            to: self.to.floor() as i64,
            time: match self.time {
                TimeArg::Intersects => TimeOp::Intersects,
                TimeArg::Within => TimeOp::Within,
                TimeArg::StartsIn => TimeOp::StartsIn,
                TimeArg::EndsIn => TimeOp::EndsIn,
            },
            space: if self.crosses {
                Some(SpaceOp::Crosses)
            } else if self.within_box {
                Some(SpaceOp::Within)
            } else {
                None
            },
            bounds,
            callsign: self.callsign.clone().map(TextMatch),
            orig: self.orig.clone().map(TextMatch),
            dest: self.dest.clone().map(TextMatch),
            source: self.source,
            filter_waypoints: self.filter_waypoints,
        };
        q.validate()?;
        Ok(q)
    }
}

/// One point as `[time, lon, lat, alt, alt_gnss, heading, on_ground]`, missing values null.
type PointJson = (u32, f64, f64, Option<f64>, Option<f64>, Option<f64>, u8);

fn point_json(p: &Point) -> PointJson {
    (
        p.time,
        p.lon,
        p.lat,
        Point::present(p.alt),
        Point::present(p.alt_gnss),
        Point::present(p.heading),
        u8::from(p.on_ground),
    )
}

#[derive(Serialize)]
struct TrajectoryJson<'a> {
    source_id: &'a str,
    callsign: &'a str,
    orig: Option<&'a str>,
    dest: Option<&'a str>,
    source: i64,
    points: Vec<PointJson>,
}

#[derive(Serialize)]
struct QueryJson<'a> {
    n_traj: usize,
    n_points: usize,
    median_ms: f64,
    min_ms: f64,
    warnings: &'a [String],
    runs: usize,
    day_files: usize,
    sidecar_days: usize,
    candidates: usize,
    points_read: usize,
    trajectories: Vec<TrajectoryJson<'a>>,
}

pub fn run(command: TrajCommand) -> anyhow::Result<()> {
    match command {
        TrajCommand::Query(args) => query(args),
        TrajCommand::Index { store, json } => index(store, json),
        TrajCommand::Project { store, camera, at, no_sidecar, json } => project(store, camera, at, no_sidecar, json),
        TrajCommand::Synth { store, from, days, flights, seed } => synth(store, from, days, flights, seed),
        TrajCommand::Attach { archive, stream, camera, store } => attach(&archive, &stream, &camera, &store),
    }
}

/// The store, the sidecar (unless ignored) and options, as the GUI's worker also opens them.
fn open(store: &std::path::Path, no_sidecar: bool) -> anyhow::Result<(FederStore, Option<Sidecar>)> {
    let store = FederStore::open(store)?;
    let sidecar = if no_sidecar { None } else { Sidecar::open(&store)? };
    Ok((store, sidecar))
}

fn query(args: QueryArgs) -> anyhow::Result<()> {
    let q = args.query()?;
    let (store, sidecar) = open(&args.store, args.no_sidecar)?;
    let mut options = RunOptions { use_sidecar: !args.no_sidecar, ..RunOptions::default() };
    if let Some(threads) = args.threads {
        options.threads = threads.max(1);
    }
    let connections = Connections::default();
    let once = || -> anyhow::Result<(QueryOutput, f64)> {
        let started = Instant::now();
        let output = feder::run(&store, &connections, sidecar.as_ref(), &q, options)?;
        Ok((output, started.elapsed().as_secs_f64() * 1e3))
    };
    let runs = args.repeat.unwrap_or(1).max(1) as usize;
    if args.repeat.is_some() {
        once()?; // warm-up
    }
    let mut times = Vec::with_capacity(runs);
    let mut output = None;
    for _ in 0..runs {
        let (o, ms) = once()?;
        times.push(ms);
        output = Some(o);
    }
    let output = output.unwrap_or_default();
    times.sort_by(f64::total_cmp);
    let median = if runs % 2 == 1 { times[runs / 2] } else { (times[runs / 2 - 1] + times[runs / 2]) / 2.0 };
    let n_points = output.trajectories.iter().map(|t| t.points.len()).sum();
    for w in &output.warnings {
        tracing::warn!("{w}");
    }
    if !args.json {
        out!(
            "{} trajectories, {} points; median {:.2} ms, min {:.2} ms over {runs} run(s); {} warning(s)",
            output.trajectories.len(),
            n_points,
            median,
            times[0],
            output.warnings.len()
        )?;
        for t in &output.trajectories {
            out!(
                "{}\t{}\t{}→{}\t{} points",
                t.source_id,
                t.callsign,
                t.orig.as_deref().unwrap_or("?"),
                t.dest.as_deref().unwrap_or("?"),
                t.points.len()
            )?;
        }
        return Ok(());
    }
    print_json(&QueryJson {
        n_traj: output.trajectories.len(),
        n_points,
        median_ms: median,
        min_ms: times[0],
        warnings: &output.warnings,
        runs,
        day_files: output.stats.day_files,
        sidecar_days: output.stats.sidecar_days,
        candidates: output.stats.candidates,
        points_read: output.stats.points_read,
        trajectories: output
            .trajectories
            .iter()
            .map(|t| TrajectoryJson {
                source_id: &t.source_id,
                callsign: &t.callsign,
                orig: t.orig.as_deref(),
                dest: t.dest.as_deref(),
                source: t.source,
                points: t.points.iter().map(point_json).collect(),
            })
            .collect(),
    })
}

fn index(store: PathBuf, json: bool) -> anyhow::Result<()> {
    let store = FederStore::open(&store)?;
    // Progress and warnings (a day file that cannot be read, named) go to stderr.
    let report = feder::sidecar::build(&store, |line| eprintln!("{line}"))?;
    if json {
        return print_json(&report);
    }
    out!(
        "{}: {} day files, {} indexed, {} unchanged, {} skipped; {} trajectories, {} points, {} broken; {:.1} s",
        report.sidecar.display(),
        report.day_files,
        report.indexed,
        report.unchanged,
        report.warnings.len(),
        report.trajectories,
        report.points,
        report.broken,
        report.seconds
    )?;
    Ok(())
}

#[derive(Serialize)]
struct AircraftJson {
    source_id: String,
    callsign: String,
    lat: f64,
    lon: f64,
    height_m: f64,
    range_m: f64,
    in_front: bool,
    in_frame: bool,
    u: Option<f64>,
    v: Option<f64>,
}

/// Every trajectory spanning `at` within the camera's range, projected, sorted by source_id.
fn aircraft_at(
    store: &FederStore,
    sidecar: Option<&Sidecar>,
    connections: &Connections,
    projector: &Projector,
    at: f64,
) -> anyhow::Result<(Vec<AircraftJson>, Vec<String>)> {
    // Exactly the trajectories whose first ≤ at ≤ last: intersects [⌊at⌋, ⌈at⌉], whole.
    let q = Query { from: at.floor() as i64, to: at.ceil() as i64, ..Query::default() };
    let output = feder::run(store, connections, sidecar, &q, RunOptions::default())?;
    let mut aircraft: Vec<AircraftJson> = output
        .trajectories
        .iter()
        .filter_map(|t| {
            let (pos, p) = projector.place(&t.points, at)?;
            Some(AircraftJson {
                source_id: t.source_id.clone(),
                callsign: t.callsign.clone(),
                lat: pos.lat,
                lon: pos.lon,
                height_m: pos.height_m,
                range_m: p.range_m,
                in_front: p.in_front,
                in_frame: p.in_frame,
                u: p.pixel.map(|(u, _)| u),
                v: p.pixel.map(|(_, v)| v),
            })
        })
        .collect();
    aircraft.sort_by(|a, b| a.source_id.cmp(&b.source_id));
    Ok((aircraft, output.warnings))
}

fn project(store: PathBuf, camera: PathBuf, at: f64, no_sidecar: bool, json: bool) -> anyhow::Result<()> {
    let camera = Camera::load(&camera)?;
    let (store, sidecar) = open(&store, no_sidecar)?;
    let projector = Projector::new(&camera);
    let (aircraft, warnings) = aircraft_at(&store, sidecar.as_ref(), &Connections::default(), &projector, at)?;
    for w in &warnings {
        tracing::warn!("{w}");
    }
    if !json {
        for a in &aircraft {
            let pixel = a.u.zip(a.v).map_or("behind".to_string(), |(u, v)| format!("({u:.1}, {v:.1})"));
            out!(
                "{}\t{}\t{:.0} m away\t{:.0} m high\t{}{}",
                a.source_id,
                a.callsign,
                a.range_m,
                a.height_m,
                pixel,
                if a.in_frame { " in frame" } else { "" }
            )?;
        }
        return Ok(());
    }
    #[derive(Serialize)]
    struct ProjectJson {
        at_s: serde_json::Number,
        aircraft: Vec<AircraftJson>,
        warnings: Vec<String>,
    }
    let at_s = if at.fract() == 0.0 && at.abs() < 9e15 {
        serde_json::Number::from(at as i64)
    } else {
        serde_json::Number::from_f64(at).unwrap_or_else(|| serde_json::Number::from(0))
    };
    print_json(&ProjectJson { at_s, aircraft, warnings })
}

fn attach(
    archive: &std::path::Path,
    stream: &str,
    camera: &std::path::Path,
    store: &std::path::Path,
) -> anyhow::Result<()> {
    tessera_storage::db::require_archive(archive)?;
    let listing = tessera_storage::fsv::Archive::open(archive)?;
    if !listing.streams.contains_key(stream) {
        let known: Vec<&str> = listing.streams.keys().map(String::as_str).collect();
        anyhow::bail!("{}: no stream {stream:?} (streams: {})", archive.display(), known.join(", "));
    }
    Camera::load(camera)?;
    let camera_toml = std::fs::read_to_string(camera).map_err(|e| anyhow::anyhow!("{}: {e}", camera.display()))?;
    let store = FederStore::open(store)?.root().canonicalize()?;
    let db = tessera_storage::EventDb::open_write(archive)?;
    db.set_sky_link(stream, &tessera_storage::db::SkyLinkText { camera_toml, store: store.clone() })?;
    out!("{stream}: sky camera {} over {}", camera.display(), store.display())?;
    Ok(())
}

fn synth(store: PathBuf, from: f64, days: u32, flights: usize, seed: u64) -> anyhow::Result<()> {
    std::fs::create_dir_all(&store)?;
    let fs = FederStore::open(&store)?;
    let first = (from as i64).div_euclid(86_400);
    for day in first..first + i64::from(days) {
        let started = Instant::now();
        let traffic = feder::synth::day_of_traffic(day, flights, seed);
        let points: usize = traffic.iter().map(|t| t.points.len()).sum();
        feder::writer::write(&fs, &traffic)?;
        eprintln!(
            "wrote {} ({} flights, {points} points) in {:.1} s",
            fs.day_path(day).display(),
            traffic.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// `tessera bench project`: positions (interpolation) and projection of `n` aircraft at one
/// instant through [`position_at`] and [`Projector::project`], as [`aircraft_at`] runs them.
pub fn bench_project(n: usize, camera: Option<PathBuf>, json: bool) -> anyhow::Result<()> {
    let camera = match camera {
        Some(path) => Camera::load(&path)?,
        None => tessera_engine::trajectories::projection::demo_camera(),
    };
    let projector = Projector::new(&camera);
    // n flights through the region, each airborne at `at`.
    let mut rng = feder::synth::Rng::new(7);
    let at = 1_747_944_000.5;
    let day = (at as i64).div_euclid(86_400);
    let flights: Vec<Vec<Point>> = (0..n)
        .map(|i| {
            let from = ("A", camera.lat_deg + rng.range(-3.0, 3.0), camera.lon_deg + rng.range(-4.0, 4.0));
            let to = ("B", camera.lat_deg + rng.range(-3.0, 3.0), camera.lon_deg + rng.range(-4.0, 4.0));
            let departs = at as i64 - 600 - rng.below(600) as i64;
            feder::synth::flight(&mut rng, day, i, from, to, departs).points
        })
        .collect();
    let runs = 200;
    let (mut times, mut project_times) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    let mut in_frame = 0;
    let mut positions = Vec::with_capacity(n);
    for _ in 0..runs {
        // Positions at the instant (interpolation between the bracketing points)…
        let started = Instant::now();
        positions.clear();
        positions.extend(flights.iter().filter_map(|points| position_at(points, at)));
        let positioned = started.elapsed();
        // …and their projection.
        let mut frame = 0usize;
        for pos in &positions {
            let p = projector.project(pos.lat, pos.lon, pos.height_m);
            frame += usize::from(p.in_frame && p.range_m <= camera.max_range_m);
        }
        let total = started.elapsed();
        times.push(total.as_secs_f64() * 1e3);
        project_times.push((total - positioned).as_secs_f64() * 1e3);
        in_frame = std::hint::black_box(frame);
    }
    let positioned = positions.len();
    times.sort_by(f64::total_cmp);
    project_times.sort_by(f64::total_cmp);
    #[derive(Serialize)]
    struct BenchJson {
        aircraft: usize,
        positioned: usize,
        in_frame: usize,
        runs: usize,
        median_ms: f64,
        min_ms: f64,
        p99_ms: f64,
        project_median_ms: f64,
        project_p99_ms: f64,
    }
    let report = BenchJson {
        aircraft: n,
        positioned,
        in_frame,
        runs,
        median_ms: times[runs / 2],
        min_ms: times[0],
        p99_ms: times[runs * 99 / 100],
        project_median_ms: project_times[runs / 2],
        project_p99_ms: project_times[runs * 99 / 100],
    };
    if json {
        return print_json(&report);
    }
    out!(
        "{} aircraft ({} positioned, {} in frame): median {:.3} ms (projection {:.3} ms), p99 {:.3} ms",
        report.aircraft,
        report.positioned,
        report.in_frame,
        report.median_ms,
        report.project_median_ms,
        report.p99_ms
    )?;
    Ok(())
}
