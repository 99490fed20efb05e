//! `tessera import h264|h265 --archive DIR --stream NAME --start T --fps F FILE`.

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
    /// Time of the first frame: RFC 3339 or unix µs.
    #[arg(long)]
    start: UnixMicros,
    /// Frames per second: F (e.g. 25, 29.97) or N/D (e.g. 30000/1001), 1/3600 … 1000.
    #[arg(long)]
    fps: String,
    /// The elementary stream file (`-` = stdin).
    file: PathBuf,
    #[arg(long)]
    json: bool,
}

pub fn run(command: ImportCommand) -> anyhow::Result<()> {
    let (codec, args) = match command {
        ImportCommand::H264(args) => (Codec::H264, args),
        ImportCommand::H265(args) => (Codec::H265, args),
    };
    let ImportArgs { archive, stream, start, fps, file, json } = args;
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
    let summary = match fsv::import_annex_b(&archive, &stream, codec, start.0, fps, &mut input, &file) {
        Ok(summary) => summary,
        Err(e) => {
            if new_archive {
                let _ = std::fs::remove_dir(&archive); // only when empty: a failed import leaves nothing
            }
            return Err(e.into());
        }
    };
    // Previews of what was imported, now that the video is durable: a failure here costs the
    // previews (a later `previews build` makes them), never the import.
    let spec = tessera_engine::previews::BuildSpec {
        archive: archive.clone(),
        stream: Some(stream.clone()),
        every_us: tessera_storage::previews::DEFAULT_EVERY_US,
        workers: 0,
        store: None,
    };
    let previews = match super::previews::build(spec) {
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
