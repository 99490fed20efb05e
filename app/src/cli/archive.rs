//! `tessera archive ls DIR [--json]`.

use clap::Subcommand;
use serde::Serialize;
use std::path::PathBuf;
use tessera_storage::UnixMicros;
use tessera_storage::fsv::{Archive, Stream, StreamSummary};

#[derive(Subcommand, Debug)]
pub enum ArchiveCommand {
    /// List the streams of an archive with their time spans.
    Ls {
        dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct Listing {
    streams: Vec<StreamSummary>,
}

pub fn run(command: ArchiveCommand) -> anyhow::Result<()> {
    let ArchiveCommand::Ls { dir, json } = command;
    let archive = Archive::open(&dir)?;
    for w in &archive.warnings {
        tracing::warn!("{w}");
    }
    let streams: Vec<StreamSummary> = archive.streams.values().map(Stream::summary).collect();
    if json {
        return crate::cli::print_json(&Listing { streams });
    }
    for s in &streams {
        println!(
            "{:<20} {} → {}  {:>6} files {:>14} bytes",
            s.name,
            UnixMicros(s.start_us),
            UnixMicros(s.end_us),
            s.files,
            s.bytes
        );
    }
    Ok(())
}
