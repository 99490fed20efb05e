//! `tessera events ingest|list`.

use anyhow::Context;
use clap::Subcommand;
use serde::Serialize;
use std::io::Read;
use std::path::PathBuf;
use tessera_storage::UnixMicros;
use tessera_storage::events::{EventDb, EventRow, parse_jsonl};

#[derive(Subcommand, Debug)]
pub enum EventsCommand {
    /// Ingest object tracks (JSON Lines; `-` = stdin). All or nothing.
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
        #[arg(long, value_parser = crate::cli::parse_time)]
        from: UnixMicros,
        #[arg(long, value_parser = crate::cli::parse_time)]
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
            let mut text = String::new();
            if file.as_os_str() == "-" {
                std::io::stdin().read_to_string(&mut text).context("stdin")?;
            } else {
                text = std::fs::read_to_string(&file).with_context(|| format!("{}", file.display()))?;
            }
            let events = parse_jsonl(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let db = EventDb::open(&archive)?;
            let ids = db.insert_events(&events, UnixMicros::now().secs_floor())?;
            if json {
                return crate::cli::print_json(
                    &serde_json::json!({ "ingested": ids.len(), "first_id": ids.first(), "last_id": ids.last() }),
                );
            }
            println!("ingested {} events into {}", ids.len(), db.path().display());
            Ok(())
        }
        EventsCommand::List { archive, camera, from, to, json } => {
            let db = EventDb::open(&archive)?;
            // [first, last] (ms) overlaps [from, to] (µs).
            let events = db.list_events(&camera, (from.0 + 999).div_euclid(1000), to.0.div_euclid(1000))?;
            if json {
                return crate::cli::print_json(&Listing { events });
            }
            for e in &events {
                println!(
                    "{:>8} {} {:<10} {} → {}",
                    e.id,
                    e.camera,
                    e.class,
                    UnixMicros::from_millis(e.first_ms),
                    UnixMicros::from_millis(e.last_ms)
                );
            }
            Ok(())
        }
    }
}
