//! `tessera previews build|get`: keyframe previews (the bodies are
//! [`tessera_engine::previews`]).
//!
//! - `build --archive DIR [--stream S] [--every 10s] [--json]` → `{"streams", "previews",
//!   "seconds"}` (plus `failed`, `files_scanned`, `store`); progress on stderr. A rerun with
//!   nothing new stores nothing (`"previews": 0`).
//! - `get --archive DIR --stream S --at T --out p.png [--json]` → the PNG of the preview of the
//!   latest keyframe at or before T that has one (built on demand), `{"t_us", "width",
//!   "height"}`; exit 1 with one line when the stream has no video at or before T.

use anyhow::Context;
use clap::Subcommand;
use std::path::PathBuf;
use tessera_engine::previews::{self, BuildSpec};
use tessera_storage::UnixMicros;

#[derive(Subcommand, Debug)]
pub enum PreviewsCommand {
    /// Build the previews a stream (or every stream) lacks: one per keyframe, at most one per
    /// `--every`.
    Build {
        #[arg(long)]
        archive: PathBuf,
        #[arg(long)]
        stream: Option<String>,
        /// At most one preview per this much video: `10s`, `500ms`, `2m`, `1h`, `0` (every keyframe).
        #[arg(long, default_value = "10s", value_parser = parse_duration_us)]
        every: i64,
        /// Decoding threads (default: one per core).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        #[arg(long)]
        json: bool,
    },
    /// Write the preview of the latest keyframe at or before a time as PNG.
    Get {
        #[arg(long)]
        archive: PathBuf,
        #[arg(long)]
        stream: String,
        /// RFC 3339 or unix µs.
        #[arg(long)]
        at: UnixMicros,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

/// `10s`, `500ms`, `2m`, `1h`, `250us`, or a bare number of seconds, as µs (not negative).
pub fn parse_duration_us(text: &str) -> Result<i64, String> {
    super::duration::parse_us(text, true)
}

pub fn run(command: PreviewsCommand) -> anyhow::Result<()> {
    match command {
        PreviewsCommand::Build { archive, stream, every, threads, json } => {
            let report = build(BuildSpec { archive, stream, every_us: every, workers: threads, store: None })?;
            if json {
                return crate::cli::print_json(&report);
            }
            crate::cli::out!(
                "{} preview(s) of {} stream(s) in {:.1} s into {}",
                report.previews,
                report.streams,
                report.seconds,
                report.store.display()
            )?;
            Ok(())
        }
        PreviewsCommand::Get { archive, stream, at, out, json } => {
            let preview = previews::preview_at(&archive, &stream, at.0)?
                .with_context(|| format!("stream {stream}: no video at or before {at}"))?;
            let rgb = previews::preview_rgb(&preview)?;
            let mut png = Vec::new();
            rgb.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
            tessera_engine::output::write_atomically(&out, &png)?;
            let answer = serde_json::json!({
                "t_us": preview.t_us,
                "width": preview.width,
                "height": preview.height,
                "time": UnixMicros(preview.t_us).to_rfc3339(),
            });
            if json {
                return crate::cli::print_json(&answer);
            }
            crate::cli::out!(
                "{}: preview of the keyframe at {} ({}x{})",
                out.display(),
                UnixMicros(preview.t_us),
                preview.width,
                preview.height
            )?;
            Ok(())
        }
    }
}

/// Build with a progress line on stderr at most once a second (and one at the end of a stream).
pub fn build(spec: BuildSpec) -> anyhow::Result<previews::BuildReport> {
    let started = std::time::Instant::now();
    previews::build(&spec, |p| {
        eprintln!(
            "previews: stream {}: file {}/{}, {} stored ({:.1} s)",
            p.stream,
            p.file,
            p.files,
            p.stored,
            started.elapsed().as_secs_f64()
        );
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration_us("10s"), Ok(10_000_000));
        assert_eq!(parse_duration_us("1.5"), Ok(1_500_000));
        assert_eq!(parse_duration_us("500ms"), Ok(500_000));
        assert_eq!(parse_duration_us("2m"), Ok(120_000_000));
        assert_eq!(parse_duration_us("0"), Ok(0));
        assert!(parse_duration_us("-1s").is_err());
        assert!(parse_duration_us("10 parsecs").is_err());
        assert!(parse_duration_us("").is_err());
    }
}
