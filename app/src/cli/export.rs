//! `tessera export --archive D --stream S --from T --to T --out clip.mp4`: a range of a stream
//! as a file others can play, without re-encoding (the body is [`tessera_engine::export`]).

use std::path::PathBuf;
use tessera_engine::export::{ClipSpec, export_clip};
use tessera_storage::UnixMicros;

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    #[arg(long)]
    pub archive: PathBuf,
    #[arg(long)]
    pub stream: String,
    /// First time exported (the file starts at the keyframe at or before it).
    #[arg(long, allow_hyphen_values = true)]
    pub from: UnixMicros,
    /// End of the range (exclusive).
    #[arg(long, allow_hyphen_values = true)]
    pub to: UnixMicros,
    /// `.mp4` / `.mov` / `.m4v`: an MP4 file; anything else: raw Annex-B.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let report = export_clip(
        &ClipSpec {
            archive: args.archive.clone(),
            stream: args.stream.clone(),
            from_us: args.from.0,
            to_us: args.to.0,
            out: args.out.clone(),
        },
        &|_| true,
    )?;
    if args.json {
        return crate::cli::print_json(&report);
    }
    crate::cli::out!(
        "{}: {} frames ({} … {}), {} bytes",
        args.out.display(),
        report.frames,
        UnixMicros(report.first_us),
        UnixMicros(report.last_us),
        report.bytes
    )?;
    Ok(())
}
