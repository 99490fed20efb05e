//! `tessera hypertable populate|status|query`: the observation table of labelling projects.
//!
//! The embedded backend (SQLite files in the catalog directory) is the default; every
//! subcommand takes `--database URL` (or `TESSERA_DATABASE_URL`) for a server backend.
//! `populate` without `--sync` claims the projects, then hands the run to a detached
//! background process (`populate --worker`) and returns; `status` shows its progress.

use crate::cli::print_json;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Instant;
use tessera_storage::UnixMicros;
use tessera_storage::observations::{Catalog, CatalogError, ObservationQuery, ObservationStore, Rate};

#[derive(Args, Debug, Clone)]
pub struct DatabaseArg {
    /// The observation table's database (default: embedded SQLite in the catalog directory).
    #[arg(long, env = "TESSERA_DATABASE_URL")]
    database: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum ObservationsCommand {
    /// Rebuild projects' observation rows from their frames files at a target rate.
    Populate {
        #[arg(long)]
        catalog: PathBuf,
        #[arg(long, conflicts_with = "all_projects", required_unless_present = "all_projects")]
        project: Option<i64>,
        #[arg(long)]
        all_projects: bool,
        /// Target frame rate (a decimal like 29.97 or a fraction like 30000/1001).
        #[arg(long, default_value = "1")]
        fps: Rate,
        /// Run here and now instead of in a background process.
        #[arg(long)]
        sync: bool,
        /// Clear a stale claim (its populator died) before claiming.
        #[arg(long)]
        reset: bool,
        /// Internal: the background worker of an already-claimed run.
        #[arg(long, hide = true)]
        worker: bool,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Population state of every project.
    Status {
        #[arg(long)]
        catalog: PathBuf,
        #[command(flatten)]
        database: DatabaseArg,
        #[arg(long)]
        json: bool,
    },
    /// Write missing frames files again: images from their dyn_attrs, videos (with
    /// `--include-videos`, from a ready project's table).
    RebuildMsgpacks {
        #[arg(long)]
        catalog: PathBuf,
        #[arg(long, group = "target")]
        project: Option<i64>,
        #[arg(long, group = "target")]
        classification: Option<i64>,
        #[arg(long, group = "target")]
        all_projects: bool,
        /// Rewrite files that exist too.
        #[arg(long)]
        force: bool,
        #[arg(long)]
        include_videos: bool,
        /// Count only; write nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        database: DatabaseArg,
        #[arg(long)]
        json: bool,
    },
    /// Show or change the table's settings (idempotent: only what differs is applied).
    Configure {
        #[arg(long)]
        catalog: PathBuf,
        /// Print the backend, settings, chunks with their rows, and projects per status.
        #[arg(long)]
        show: bool,
        /// Time chunk width, e.g. "1 day", "30 days".
        #[arg(long)]
        chunk_interval: Option<String>,
        /// Compress chunks older than this ("off" turns it off).
        #[arg(long)]
        compress_after: Option<String>,
        /// Columns compressed chunks are segmented by.
        #[arg(long)]
        compress_segmentby: Option<String>,
        /// Print the statements; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        database: DatabaseArg,
        #[arg(long)]
        json: bool,
    },
    /// Observation rows of a ready project.
    Query {
        #[arg(long)]
        catalog: PathBuf,
        #[arg(long)]
        project: i64,
        #[arg(long)]
        classification: Option<i64>,
        /// UTC (RFC 3339 or unix µs) of the frames.
        #[arg(long, allow_hyphen_values = true)]
        from: Option<UnixMicros>,
        #[arg(long, allow_hyphen_values = true)]
        to: Option<UnixMicros>,
        #[arg(long)]
        label: Option<String>,
        /// Boxes overlapping the region x,y,w,h (pixels).
        #[arg(long, value_parser = parse_region)]
        bbox: Option<[f64; 4]>,
        #[command(flatten)]
        database: DatabaseArg,
        #[arg(long)]
        json: bool,
    },
}

fn parse_region(text: &str) -> Result<[f64; 4], String> {
    match super::parse_numbers(text)?[..] {
        [x, y, w, h] if w >= 0.0 && h >= 0.0 => Ok([x, y, w, h]),
        _ => Err("expected x,y,w,h with w, h ≥ 0".into()),
    }
}

/// `line` (an error message) without any password of a database URL given with `--database`
/// or `TESSERA_DATABASE_URL`, whichever command failed and whatever library wrote the line.
pub fn scrub_secrets(line: &str) -> String {
    let args: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    let mut values: Vec<String> = std::env::var("TESSERA_DATABASE_URL").ok().into_iter().collect();
    for (i, a) in args.iter().enumerate() {
        match a.strip_prefix("--database") {
            Some("") => values.extend(args.get(i + 1).cloned()),
            Some(v) if v.starts_with('=') => values.push(v[1..].to_string()),
            _ => {}
        }
    }
    tessera_storage::observations::redact::scrub(line, &values)
}

/// A targeted project is being populated: exit code 3.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

fn open_store(catalog: &std::path::Path, database: &DatabaseArg) -> anyhow::Result<ObservationStore> {
    Ok(ObservationStore::open(catalog, database.database.as_deref())?)
}

fn refused(e: CatalogError) -> anyhow::Error {
    match e {
        CatalogError::Busy(message) => Refused(message).into(),
        other => other.into(),
    }
}

pub fn run(command: ObservationsCommand) -> anyhow::Result<()> {
    match command {
        ObservationsCommand::Populate { catalog, project, all_projects, fps, sync, reset, worker, database } => {
            let mut cat = Catalog::open(&catalog, false)?;
            let mut store = open_store(&catalog, &database)?;
            let projects = if all_projects { cat.project_ids()? } else { project.into_iter().collect() };
            if !worker {
                store.claim(&mut cat, &projects, fps, reset).map_err(refused)?;
            }
            if !sync && !worker {
                return spawn_worker(&mut store, &cat, &catalog, &database, &projects, fps);
            }
            if worker {
                // Every claim first: a project waiting its turn is as alive as the one running.
                for &p in &projects {
                    store.take_over(&cat, p)?;
                }
            }
            let mut failed = None;
            for &p in &projects {
                if let Err(e) = populate_one(&mut store, &cat, p, fps, !worker) {
                    failed.get_or_insert(e);
                }
            }
            failed.map_or(Ok(()), Err)
        }
        ObservationsCommand::Status { catalog, database, json } => {
            let cat = Catalog::open_read(&catalog)?;
            let states = open_store(&catalog, &database)?.states(&cat)?;
            if json {
                let projects: Vec<serde_json::Value> = states
                    .iter()
                    .map(|s| {
                        serde_json::json!({
                            "id": s.id, "name": s.name, "status": s.status, "fps": s.fps.parse::<f64>().ok().or_else(|| s.fps.parse::<Rate>().ok().map(Rate::as_f64)),
                            "rows": s.rows, "progress": s.progress, "error": s.error, "stale": s.stale,
                            "started_at_ms": s.started_at_ms, "finished_at_ms": s.finished_at_ms, "heartbeat_at_ms": s.heartbeat_at_ms,
                        })
                    })
                    .collect();
                return print_json(&serde_json::json!({ "projects": projects }));
            }
            for s in &states {
                out!(
                    "{}\t{}\t{}\t{} fps\t{} rows\t{:.0}%{}",
                    s.id,
                    s.name,
                    s.status,
                    s.fps,
                    s.rows,
                    s.progress * 100.0,
                    s.error.as_deref().map(|e| format!("\t{e}")).unwrap_or_default()
                )?;
            }
            Ok(())
        }
        ObservationsCommand::RebuildMsgpacks {
            catalog,
            project,
            classification,
            all_projects,
            force,
            include_videos,
            dry_run,
            database,
            json,
        } => {
            if [project.is_some(), classification.is_some(), all_projects].iter().filter(|&&b| b).count() != 1 {
                anyhow::bail!("give exactly one of --project, --classification, --all-projects");
            }
            let report =
                rebuild_msgpacks(&catalog, &database, project, classification, force, include_videos, dry_run)?;
            if json {
                return print_json(&report);
            }
            out!("{report}")?;
            Ok(())
        }
        ObservationsCommand::Configure {
            catalog,
            show,
            chunk_interval,
            compress_after,
            compress_segmentby,
            dry_run,
            database,
            json,
        } => {
            let cat = Catalog::open_read(&catalog)?; // the writer is opened only to apply
            let mut store = open_store(&catalog, &database)?;
            let statements = store.changes(
                &cat,
                chunk_interval.as_deref(),
                compress_after.as_deref(),
                compress_segmentby.as_deref(),
            )?;
            if dry_run {
                for s in &statements {
                    out!("{s};")?;
                }
                if statements.is_empty() {
                    out!("-- nothing to change")?;
                }
            } else if !statements.is_empty() {
                store.apply(&mut Catalog::open(&catalog, false)?, &statements)?;
                eprintln!("applied {} change(s)", statements.len());
            }
            if show {
                let config = store.config(&cat)?;
                let chunks = store.chunks(&cat)?;
                let mut by_status = std::collections::BTreeMap::<String, usize>::new();
                for s in store.states(&cat)? {
                    *by_status.entry(s.status).or_default() += 1;
                }
                let chunks_json: Vec<serde_json::Value> = chunks
                    .iter()
                    .map(|c| {
                        serde_json::json!({"name": c.name, "start": UnixMicros(c.start_us).to_rfc3339(), "end": UnixMicros(c.end_us).to_rfc3339(), "rows": c.rows})
                    })
                    .collect();
                let compression = match store.backend() {
                    "timescaledb" => "TimescaleDB columnar compression",
                    "postgresql" => "stored only (PostgreSQL partitions have no columnar compression)",
                    _ => "stored only (the embedded backend has no columnar compression)",
                };
                let report = serde_json::json!({
                    "backend": store.backend(),
                    "compression": compression,
                    "config": config,
                    "chunks": chunks_json,
                    "projects_by_status": by_status,
                });
                if json {
                    return print_json(&report);
                }
                match &store {
                    ObservationStore::Embedded(_) => {
                        out!("backend: sqlite (embedded, {}/observations/)", catalog.display())?
                    }
                    ObservationStore::Postgres(pg) => out!("backend: {} ({pg:?})", store.backend())?,
                }
                out!("chunk interval: {}", config.chunk_interval)?;
                out!("compress after: {} (stored only)", config.compress_after.as_deref().unwrap_or("off"))?;
                out!("compress segment by: {}; order by: {}", config.compress_segmentby, config.compress_orderby)?;
                for c in chunks {
                    out!(
                        "chunk {}{} … {}: {} rows",
                        if c.name.is_empty() { String::new() } else { format!("{} ", c.name) },
                        UnixMicros(c.start_us).to_rfc3339(),
                        UnixMicros(c.end_us).to_rfc3339(),
                        c.rows
                    )?;
                }
                for (status, n) in by_status {
                    out!("projects {status}: {n}")?;
                }
            }
            Ok(())
        }
        ObservationsCommand::Query { catalog, project, classification, from, to, label, bbox, database, json } => {
            if let (Some(from), Some(to)) = (from, to)
                && from.0 > to.0
            {
                anyhow::bail!("--from {} is after --to {}: the range is empty", from.to_rfc3339(), to.to_rfc3339());
            }
            let cat = Catalog::open_read(&catalog)?;
            let mut store = open_store(&catalog, &database)?;
            let state = store.states(&cat)?.into_iter().find(|s| s.id == project);
            match state {
                None => anyhow::bail!("{}: no project {project}", catalog.display()),
                Some(s) if s.status != "ready" => anyhow::bail!(
                    "project {project} is {}, not ready (its rows are used only when ready; run `tessera hypertable populate`)",
                    s.status
                ),
                Some(_) => {}
            }
            let q = ObservationQuery {
                project,
                classification,
                from_us: from.map(|t| t.0),
                to_us: to.map(|t| t.0),
                label,
                bbox,
            };
            let rows = store.query(&q)?;
            if json {
                return print_json(&serde_json::json!({ "rows": rows }));
            }
            for r in &rows {
                out!("{}\t{}\t{}\t{}\t{:?}", r.classification, r.frame_index, r.t_us, r.label, r.bbox)?;
            }
            Ok(())
        }
    }
}

/// Populate one claimed project here, with a progress line on a terminal.
fn populate_one(
    store: &mut ObservationStore,
    cat: &Catalog,
    project: i64,
    fps: Rate,
    show: bool,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let result = store.populate(cat, project, fps, |rows, fraction| {
        if show {
            eprint!("\rproject {project}: {:>3.0}% {rows} rows", fraction * 100.0);
        }
    });
    if show {
        eprintln!();
    }
    let rows = result.map_err(|e| anyhow::anyhow!("project {project}: {e}"))?;
    let secs = started.elapsed().as_secs_f64();
    if show {
        eprintln!("project {project}: ready, {rows} rows in {secs:.2} s ({:.0} rows/s)", rows as f64 / secs.max(1e-9));
    }
    Ok(())
}

/// Start the detached background worker for claimed projects and hand it the claims.
fn spawn_worker(
    store: &mut ObservationStore,
    cat: &Catalog,
    dir: &std::path::Path,
    database: &DatabaseArg,
    projects: &[i64],
    fps: Rate,
) -> anyhow::Result<()> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe()?;
    let mut command = std::process::Command::new(exe);
    // The exact fraction: a rounded decimal (30000/1001 prints as 29.97002997…) may not parse.
    command.args(["hypertable", "populate", "--catalog"]).arg(dir).args(["--fps", &fps.exact(), "--worker"]);
    match projects {
        [one] => command.args(["--project", &one.to_string()]),
        _ => command.arg("--all-projects"), // the same set: it was just claimed whole
    };
    if let Some(url) = &database.database {
        command.env("TESSERA_DATABASE_URL", url); // not on the command line: it may hold a password
    }
    let spawned = command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0) // not killed with our terminal's process group
        .spawn();
    match spawned {
        Ok(mut child) => {
            store.hand_over(cat, projects, &mut child)?;
            out!(
                "populating {} project(s) in the background (pid {}); `tessera hypertable status` shows progress",
                projects.len(),
                child.id()
            )?;
            Ok(())
        }
        Err(e) => {
            let message = format!("cannot start the background populator: {e}");
            store.abandon(cat, projects, &message)?;
            anyhow::bail!(message)
        }
    }
}

/// `tessera bench populate`: one project of 4 video classifications, `frames` frames at 30 fps
/// in all with `objects` objects each, populated at the source's 30 fps (every frame kept) through
/// [`ObservationStore::populate`] — what `hypertable populate` runs — timed end to end (claim
/// to `ready`): into the embedded table, and with `database` into that server too, in the
/// same run on the same files.
pub fn bench_populate(frames: u32, objects: u32, database: Option<String>, json: bool) -> anyhow::Result<()> {
    use tessera_storage::observations::{FrameObject, FrameRecord, FramesHeader, write_frames};
    let dir = tempfile::tempdir()?;
    let per_file = frames.div_ceil(4).max(1);
    let mut classifications = Vec::new();
    for c in 0..4i64 {
        let path = dir.path().join(format!("c{c}.msgpack"));
        let mut header = FramesHeader::new(c, c, 1920, 1080, vec!["car".into(), "person".into(), "bird".into()]);
        (header.fps_num, header.fps_den, header.start_utc_us, header.frame_count) =
            (30, 1, 1_700_000_000_000_000, per_file);
        let records: Vec<FrameRecord> = (0..per_file)
            .map(|i| FrameRecord {
                i,
                t_us: (i64::from(i) * 1_000_000 + 15) / 30,
                o: (0..objects)
                    .map(|k| FrameObject {
                        tid: Some(i64::from(k)),
                        c: (k % 3) as u16,
                        s: Some(0.8),
                        b: [(i % 1800) as f32, (k * 100) as f32, 40.0, 30.0],
                        f: 0,
                        a: None,
                    })
                    .collect(),
            })
            .collect();
        write_frames(&path, &header, &records)?;
        classifications.push(serde_json::json!({"id": c + 1, "kind": "video", "frames": path}));
    }
    let manifest: tessera_storage::observations::Manifest = serde_json::from_value(
        serde_json::json!({"projects": [{"id": 1, "name": "bench", "classifications": classifications}]}),
    )?;
    let catalog_dir = dir.path().join("catalog");
    let mut cat = Catalog::open(&catalog_dir, true)?;
    cat.import(&manifest, dir.path())?;
    let fps: Rate = "30".parse().map_err(anyhow::Error::msg)?; // the source rate keeps every frame
    let bytes: u64 =
        (0..4).map(|c| std::fs::metadata(dir.path().join(format!("c{c}.msgpack"))).map_or(0, |m| m.len())).sum();
    let mut runs = Vec::new();
    for url in std::iter::once(None).chain(database.iter().map(|u| Some(u.as_str()))) {
        let mut store = ObservationStore::open(&catalog_dir, url)?;
        let started = Instant::now();
        store.claim(&mut cat, &[1], fps, true).map_err(refused)?;
        let rows = store.populate(&cat, 1, fps, |_, _| {})?;
        let seconds = started.elapsed().as_secs_f64();
        if !json {
            out!("{}: {rows} rows in {seconds:.2} s: {:.0} rows/s", store.backend(), rows as f64 / seconds)?;
        }
        runs.push(serde_json::json!({
            "backend": store.backend(), "rows": rows, "seconds": seconds, "rows_per_s": rows as f64 / seconds,
        }));
    }
    if json {
        // The first run's fields at the top level (the embedded table), every run in `runs`.
        let mut report = runs[0].clone();
        report["frames_file_bytes"] = bytes.into();
        report["runs"] = runs.into();
        return print_json(&report);
    }
    Ok(())
}

/// `tessera bench status`: what `hypertable status` does after start-up — open the catalog
/// and the store, read every project's state — timed `repeat` times (median, min), on the
/// embedded table and, with `database`, on that server.
pub fn bench_status(dir: &std::path::Path, database: Option<String>, repeat: usize, json: bool) -> anyhow::Result<()> {
    let mut runs = Vec::new();
    for url in std::iter::once(None).chain(database.iter().map(|u| Some(u.as_str()))) {
        let mut ms = Vec::with_capacity(repeat);
        let mut projects = 0;
        for _ in 0..repeat.max(1) {
            let started = Instant::now();
            let cat = Catalog::open_read(dir)?;
            let mut store = ObservationStore::open(dir, url)?;
            projects = store.states(&cat)?.len();
            ms.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        ms.sort_by(f64::total_cmp);
        let backend = if url.is_some() { "postgresql" } else { "sqlite" };
        if !json {
            out!("{backend}: {projects} projects, median {:.2} ms, min {:.2} ms", ms[ms.len() / 2], ms[0])?;
        }
        runs.push(serde_json::json!({"backend": backend, "projects": projects, "median_ms": ms[ms.len() / 2], "min_ms": ms[0]}));
    }
    if json {
        return print_json(&serde_json::json!({ "runs": runs }));
    }
    Ok(())
}

/// What `rebuild-msgpacks` did (or would do, with `--dry-run`).
#[derive(Debug, Default, serde::Serialize)]
struct RebuildReport {
    written: usize,
    would_write: usize,
    present: usize,
    videos_skipped: usize,
    dry_run: bool,
}

impl std::fmt::Display for RebuildReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.dry_run {
            write!(f, "would write {} frames files", self.would_write)?;
        } else {
            write!(f, "wrote {} frames files", self.written)?;
        }
        write!(f, "; {} present, {} videos skipped (--include-videos)", self.present, self.videos_skipped)
    }
}

fn rebuild_msgpacks(
    dir: &std::path::Path,
    database: &DatabaseArg,
    project: Option<i64>,
    classification: Option<i64>,
    force: bool,
    include_videos: bool,
    dry_run: bool,
) -> anyhow::Result<RebuildReport> {
    use tessera_storage::observations::frames_path::rebuild_target;
    use tessera_storage::observations::table::image_frame;
    use tessera_storage::observations::write_frames;
    let cat = Catalog::open_read(dir)?; // only frames files are written
    let mut targets = match (project, classification) {
        (Some(p), _) => cat.classifications(p)?,
        (_, Some(c)) => cat.all_classifications()?.into_iter().filter(|x| x.id == c).collect(),
        _ => cat.all_classifications()?,
    };
    if let Some(c) = classification
        && targets.is_empty()
    {
        anyhow::bail!("{}: no classification {c}", dir.display());
    }
    targets.sort_by_key(|c| c.id);
    let mut store = open_store(dir, database)?;
    let states = store.states(&cat)?;
    let mut report = RebuildReport { dry_run, ..RebuildReport::default() };
    // Every target is checked before anything is written: where it goes (a missing file only
    // inside the catalog's folder; with --force only over this classification's frames
    // file) and what it is rebuilt from. One refusal writes nothing.
    let mut planned = Vec::new();
    for c in &targets {
        if c.frames.exists() && !force {
            report.present += 1;
            continue;
        }
        if c.kind == "video" && !include_videos {
            report.videos_skipped += 1;
            continue;
        }
        rebuild_target(&c.frames, dir, c.id).map_err(|e| anyhow::anyhow!("classification {}: {e}", c.id))?;
        let image = if c.kind == "image" {
            let Some(attrs) = &c.dyn_attrs else {
                anyhow::bail!("classification {}: an image without dyn_attrs cannot be rebuilt", c.id)
            };
            Some(image_frame(c.id, attrs).map_err(|e| anyhow::anyhow!("classification {}: dyn_attrs: {e}", c.id))?)
        } else {
            let ready = states.iter().any(|s| s.id == c.project_id && s.status == "ready");
            if !ready {
                anyhow::bail!(
                    "classification {}: project {} is not ready; populate it before rebuilding its videos",
                    c.id,
                    c.project_id
                );
            }
            if cat.video_record(c.id)?.is_none() {
                anyhow::bail!("classification {}: no header recorded (was it populated from a frames file?)", c.id)
            }
            None
        };
        planned.push((c, image));
    }
    if dry_run {
        report.would_write = planned.len();
        return Ok(report);
    }
    for (c, image) in planned {
        if let Some((header, record)) = image {
            write_frames(&c.frames, &header, &[record])?;
        } else {
            let Some(mut header) = cat.video_record(c.id)? else {
                anyhow::bail!("classification {}: no header recorded", c.id)
            };
            let records = store.frames_of(c.project_id, c.id, &mut header.labels)?;
            header.frame_count = records.len() as u32;
            header.source_digest = Some(format!(
                "table:project-{}:fps-{}",
                c.project_id,
                states.iter().find(|s| s.id == c.project_id).map_or("?", |s| s.fps.as_str())
            ));
            write_frames(&c.frames, &header, &records)?;
        }
        report.written += 1;
    }
    Ok(report)
}
