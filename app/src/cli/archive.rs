//! `tessera archive ls DIR [--json]`.

use clap::Subcommand;
use serde::Serialize;
use std::path::PathBuf;
use tessera_storage::UnixMicros;
use tessera_storage::fsv::{Archive, Problem, Stream, StreamSummary};

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
    /// Files the listing worked around (ignored names, files without video, `.partial` files
    /// of imports), each `{"path": …, "problem": …}`.
    problems: Vec<Problem>,
}

/// Reads only: opening an archive writes nothing (it works on a read-only copy).
pub fn run(command: ArchiveCommand) -> anyhow::Result<()> {
    let ArchiveCommand::Ls { dir, json } = command;
    let archive = Archive::open(&dir)?;
    for p in &archive.problems {
        tracing::warn!("{p}");
    }
    let streams: Vec<StreamSummary> = archive.streams.values().map(Stream::summary).collect();
    if json {
        return crate::cli::print_json(&Listing { streams, problems: archive.problems });
    }
    for s in &streams {
        crate::cli::out!(
            "{:<20} {} → {}  {:>6} files {:>14} bytes",
            s.name,
            UnixMicros(s.start_us),
            UnixMicros(s.end_us),
            s.files,
            s.bytes
        )?;
    }
    Ok(())
}
