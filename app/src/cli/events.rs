//! `tessera events ingest|list`.

use anyhow::Context;
use clap::Subcommand;
use serde::Serialize;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use tessera_storage::UnixMicros;
use tessera_storage::events::{EventRow, parse_line};
use tessera_storage::{DbError, EventDb};

#[derive(Subcommand, Debug)]
pub enum EventsCommand {
    /// Ingest object tracks (JSON Lines; `-` = stdin). All or nothing: a bad line stores
    /// nothing of the file. Times lie in 1970 … 9999; an event lasts at most 24 h.
    Ingest {
        #[arg(long)]
        archive: PathBuf,
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Events of a camera overlapping a time range, by first time.
    List {
        #[arg(long)]
        archive: PathBuf,
        #[arg(long)]
        camera: String,
        #[arg(long, allow_hyphen_values = true)]
        from: UnixMicros,
        #[arg(long, allow_hyphen_values = true)]
        to: UnixMicros,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct Listing {
    events: Vec<EventRow>,
}

pub fn run(command: EventsCommand) -> anyhow::Result<()> {
    match command {
        EventsCommand::Ingest { archive, file, json } => {
            if !archive.is_dir() {
                anyhow::bail!("{}: archive directory does not exist", archive.display());
            }
            let input: Box<dyn BufRead> = if file.as_os_str() == "-" {
                Box::new(std::io::stdin().lock())
            } else {
                let f = std::fs::File::open(&file).with_context(|| format!("{}", file.display()))?;
                Box::new(std::io::BufReader::with_capacity(1 << 20, f))
            };
            let db = EventDb::open_write(&archive)?;
            let summary = ingest(&db, input, &file)?;
            if json {
                return crate::cli::print_json(&summary);
            }
            crate::cli::out!("ingested {} events into {}", summary.ingested, db.path().display())?;
            Ok(())
        }
        EventsCommand::List { archive, camera, from, to, json } => {
            let db = EventDb::open_read(&archive)?;
            // [first, last] (ms) overlaps [from, to] (µs): from rounds up, to down; no overflow.
            let from_ms = from.0.div_euclid(1000) + i64::from(from.0.rem_euclid(1000) != 0);
            let events = db.list_events(&camera, from_ms, to.0.div_euclid(1000))?;
            if json {
                return crate::cli::print_json(&Listing { events });
            }
            for e in &events {
                crate::cli::out!(
                    "{:>8} {} {:<10} {} → {}",
                    e.id,
                    e.camera,
                    e.class,
                    UnixMicros::from_millis(e.first_ms),
                    UnixMicros::from_millis(e.last_ms)
                )?;
            }
            Ok(())
        }
    }
}

/// Stream JSON Lines into one ingest transaction; the first bad line rolls everything back.
fn ingest(
    db: &EventDb,
    mut input: Box<dyn BufRead>,
    file: &Path,
) -> anyhow::Result<tessera_storage::db::IngestSummary> {
    let mut ingest = db.begin_ingest(UnixMicros::now().secs_floor())?;
    let mut line = String::new();
    let mut number = 0usize;
    loop {
        line.clear();
        number += 1;
        let read = input.read_line(&mut line).with_context(|| format!("{}: line {number}", file.display()))?;
        if read == 0 {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let event = parse_line(&line, number).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        ingest.add(&event).map_err(|e| match e {
            DbError::Invalid { problem, .. } => anyhow::anyhow!("{}: line {number}: {problem}", file.display()),
            other => other.into(),
        })?;
    }
    Ok(ingest.commit()?)
}
