//! `tessera events ingest|list`.

use anyhow::Context;
use clap::Subcommand;
use serde::Serialize;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use tessera_storage::UnixMicros;
use tessera_storage::db::IngestSummary;
use tessera_storage::events::{EventRow, MAX_LINE_BYTES, NewEvent, parse_line, read_line_bounded};
use tessera_storage::{DbError, EventDb};

#[derive(Subcommand, Debug)]
pub enum EventsCommand {
    /// Ingest object tracks (JSON Lines; `-` = stdin). All or nothing: a bad line stores
    /// nothing of the file. Times lie in 1970 … 9999; an event lasts at most 24 h; camera and
    /// class are 1 … 256 bytes without control characters; a line is at most 1 MiB.
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
            let input: Box<dyn BufRead + Send> = if file.as_os_str() == "-" {
                Box::new(std::io::BufReader::with_capacity(1 << 20, std::io::stdin()))
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

/// Lines parsed per batch handed from the parser thread to the writer.
const PARSE_BATCH: usize = 4096;
/// Or fewer, once their lines hold this many bytes.
const PARSE_BATCH_BYTES: usize = 4 << 20;

/// A parsed batch: events with their line numbers, or the first bad line's message.
type Parsed = Result<Vec<(usize, NewEvent)>, String>;

/// Stream JSON Lines into one ingest transaction; the first bad line rolls everything back.
/// A named thread reads and parses while this one writes (a bounded channel of batches keeps
/// memory flat): on two cores parsing no longer adds to the writer's time.
fn ingest(db: &EventDb, input: Box<dyn BufRead + Send>, file: &Path) -> anyhow::Result<IngestSummary> {
    let (batches, parsed) = crossbeam_channel::bounded::<Parsed>(4);
    let parser = std::thread::Builder::new().name("ingest-parse".into()).spawn(move || parse_lines(input, &batches))?;
    let result = write_batches(db, &parsed, file);
    drop(parsed); // a failed writer stops the parser at its next batch
    let _ = parser.join();
    result
}

fn parse_lines(mut input: Box<dyn BufRead + Send>, batches: &crossbeam_channel::Sender<Parsed>) {
    let mut line = Vec::new();
    let mut batch = Vec::with_capacity(PARSE_BATCH);
    // Input bytes in `batch`: long lines (many boxes) end a batch early, so the batches in
    // flight stay a few MiB whatever the lines hold.
    let mut batch_bytes = 0usize;
    let mut number = 0usize;
    loop {
        number += 1;
        let text = match read_line_bounded(&mut input, &mut line, number, MAX_LINE_BYTES) {
            Ok(Some(text)) => text,
            Ok(None) => break,
            Err(e) => {
                let _ = batches.send(Err(e));
                return;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        match parse_line(text, number) {
            Ok(event) => batch.push((number, event)),
            Err(e) => {
                let _ = batches.send(Err(e));
                return;
            }
        }
        batch_bytes += text.len();
        if batch.len() == PARSE_BATCH || batch_bytes >= PARSE_BATCH_BYTES {
            batch_bytes = 0;
            if batches.send(Ok(std::mem::take(&mut batch))).is_err() {
                return;
            }
        }
    }
    let _ = batches.send(Ok(batch));
}

fn write_batches(
    db: &EventDb,
    parsed: &crossbeam_channel::Receiver<Parsed>,
    file: &Path,
) -> anyhow::Result<IngestSummary> {
    let mut ingest = db.begin_ingest(UnixMicros::now().secs_floor())?;
    for batch in parsed {
        let batch = batch.map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        for (number, event) in &batch {
            ingest.add(event).map_err(|e| match e {
                DbError::Invalid { problem, .. } => anyhow::anyhow!("{}: line {number}: {problem}", file.display()),
                other => other.into(),
            })?;
        }
    }
    Ok(ingest.commit()?)
}
