//! `tessera import h264|h265 --archive DIR --stream NAME --start T --fps F [--realtime] FILE`.
//!
//! `--realtime` records instead of importing: each access unit is written when its time comes
//! (the import starts at `--start`, `now` for the current time), into files readers follow as
//! they grow ([`fsv::Pace::Realtime`]); previews are built at the end as for any import.

use clap::Subcommand;
use std::path::PathBuf;
use tessera_storage::UnixMicros;
use tessera_storage::fsv::{self, FrameRate};
use tessera_storage::rf1::Codec;

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Import an Annex-B H.264 elementary stream as track `video` of a stream.
    H264(ImportArgs),
    /// Import an Annex-B H.265 (HEVC) elementary stream as track `video` of a stream.
    H265(ImportArgs),
}

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    #[arg(long)]
    archive: PathBuf,
    #[arg(long)]
    stream: String,
    /// Time of the first frame: RFC 3339, unix µs, or `now`.
    #[arg(long, value_parser = parse_start)]
    start: i64,
    /// Frames per second: F (e.g. 25, 29.97) or N/D (e.g. 30000/1001), 1/3600 … 1000.
    #[arg(long)]
    fps: String,
    /// The elementary stream file (`-` = stdin).
    file: PathBuf,
    /// Write at the stream's own pace, as a recorder does: the access unit at time t is
    /// written at wall-clock (import start + t − start), readable as soon as it is written.
    #[arg(long)]
    realtime: bool,
    #[arg(long)]
    json: bool,
}

/// `--start`: `now`, or a time as every other `--start` takes it (a bad one is a usage
/// error naming the value, as for every time argument).
fn parse_start(text: &str) -> Result<i64, String> {
    if text.trim().eq_ignore_ascii_case("now") {
        return Ok(UnixMicros::now().0);
    }
    text.parse::<UnixMicros>().map(|t| t.0).map_err(|e| e.to_string())
}

pub fn run(command: ImportCommand) -> anyhow::Result<()> {
    let (codec, args) = match command {
        ImportCommand::H264(args) => (Codec::H264, args),
        ImportCommand::H265(args) => (Codec::H265, args),
    };
    let ImportArgs { archive, stream, start, fps, file, realtime, json } = args;
    // The recorder's clock starts before anything is read: a unit is due at this instant plus
    // its offset from the start.
    let started = std::time::Instant::now();
    fsv::validate_stream_name(&stream).map_err(|p| anyhow::anyhow!("--stream: {p}"))?;
    // Checked here rather than by clap: a bad value is an error (exit 1), like any bad input.
    let fps = FrameRate::parse(&fps).map_err(|e| anyhow::anyhow!("--fps: {e}"))?;
    let mut input: Box<dyn std::io::Read> = if file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?)
    };
    let new_archive = !archive.exists();
    std::fs::create_dir_all(&archive).map_err(|e| anyhow::anyhow!("{}: {e}", archive.display()))?;
    let pace = if realtime { fsv::Pace::Realtime { started } } else { fsv::Pace::AtOnce };
    let summary = match fsv::import_paced(&archive, &stream, codec, start, fps, &mut input, &file, pace) {
        Ok(summary) => summary,
        Err(e) => {
            if new_archive {
                let _ = std::fs::remove_dir(&archive); // only when empty: a failed import leaves nothing
            }
            return Err(e.into());
        }
    };
    // Previews of what was imported, now that the video is durable (quietly: the import's own
    // output is the contract): a failure here costs the previews (a later `previews build`
    // makes them), never the import.
    let spec = tessera_engine::previews::BuildSpec {
        archive: archive.clone(),
        stream: Some(stream.clone()),
        every_us: tessera_storage::previews::DEFAULT_EVERY_US,
        workers: 0,
        store: None,
    };
    let previews = match tessera_engine::previews::build(&spec, |_| {}) {
        Ok(report) => Some(report.previews),
        Err(e) => {
            eprintln!("warning: stream {stream}: previews not built: {}", crate::cli::error_line(&e));
            None
        }
    };
    if json {
        let mut value = serde_json::to_value(&summary)?;
        if let Some(map) = value.as_object_mut() {
            map.insert("previews".into(), serde_json::json!(previews));
        }
        return crate::cli::print_json(&value);
    }
    crate::cli::out!(
        "imported {} access units ({} NALUs, {}x{}) into {} file(s) of stream {stream}",
        summary.access_units,
        summary.nalus,
        summary.width,
        summary.height,
        summary.files
    )?;
    Ok(())
}
