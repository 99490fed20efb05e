//! `tessera rf1 dump <PATH.rf1i> [--json]`.

use anyhow::Context;
use clap::Subcommand;
use serde::Serialize;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use tessera_storage::rf1::{self, Track};

#[derive(Subcommand, Debug)]
pub enum Rf1Command {
    /// Print a track's header and index (with crash recovery applied).
    Dump {
        path: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct Dump {
    track: String,
    codec: &'static str,
    kind: &'static str,
    time_base_us: i64,
    width: u16,
    height: u16,
    header_index_count: u16,
    recovered: bool,
    dropped_entries: usize,
    packet_bytes: u64,
    entries: Vec<[u64; 4]>,
}

pub fn run(command: Rf1Command) -> anyhow::Result<()> {
    let Rf1Command::Dump { path, json } = command;
    let dump = dump(&path)?;
    if json {
        return crate::cli::print_json(&dump);
    }
    crate::cli::out!(
        "{} track {:?}: {} {}x{}, time base {} ({} µs), {} entries, {} packet bytes{}{}",
        path.display(),
        dump.track,
        dump.codec,
        dump.width,
        dump.height,
        tessera_storage::UnixMicros(dump.time_base_us),
        dump.time_base_us,
        dump.entries.len(),
        dump.packet_bytes,
        if dump.recovered { ", recovered from a crash" } else { "" },
        if dump.dropped_entries > 0 {
            format!(", {} entries dropped (truncated packets)", dump.dropped_entries)
        } else {
            String::new()
        },
    )?;
    // One lock for every line: a dump has up to 65,534 of them.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for [pts, location, length, flags] in &dump.entries {
        writeln!(out, "{pts:>8} {location:>10} {length:>8} {flags:>2}")?;
    }
    out.flush()?;
    Ok(())
}

fn dump(path: &Path) -> anyhow::Result<Dump> {
    if path.extension().and_then(|e| e.to_str()) != Some("rf1i") {
        anyhow::bail!("{}: not an rf1 index file (expected a .rf1i path)", path.display());
    }
    let track_name = rf1::split_track_file_name(path).map_or_else(|| "video".to_owned(), |(_, t)| t);
    let track = Track::open_index(path).with_context(|| "cannot read track")?;
    Ok(Dump {
        track: track_name,
        codec: track.header.codec.name(),
        kind: track.header.kind.name(),
        time_base_us: track.header.time_base_us,
        width: track.header.width,
        height: track.header.height,
        header_index_count: track.header.index_count,
        recovered: track.recovered,
        dropped_entries: track.dropped_entries,
        packet_bytes: track.packet_bytes,
        entries: track
            .entries
            .iter()
            .map(|e| [u64::from(e.pts_ticks), u64::from(e.location), u64::from(e.length), u64::from(e.flags)])
            .collect(),
    })
}
