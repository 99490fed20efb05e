//! Command-line interface. Exit codes: 0 success, 1 error, 2 usage (clap), 3 refused.
//! Errors print as one line on stderr: `error: <what> : <why>`.
//!
//! Output goes through [`out!`] and [`print_json`], which return write errors instead of
//! panicking like `println!`: a reader that goes away (`| head`) surfaces as a `BrokenPipe`
//! error, and [`main`] ends quietly with status 0 on one, like other Unix tools. (SIGPIPE
//! stays ignored, as Rust sets it up: resetting it would need `unsafe`.)

/// `println!` to stdout that returns the write's `std::io::Result<()>` instead of panicking
/// (propagate it with `?`: [`main`] treats a closed pipe as a quiet success).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}
pub(crate) use out;

mod archive;
mod bench;
mod bench_follow;
mod bench_live;
mod bench_playback;
mod bench_previews;
mod bench_scale;
mod bench_ui;
mod bookmarks;
mod catalog;
mod duration;
mod events;
mod export;
mod frame;
mod import;
mod observations;
mod previews;
mod render_timeline;
mod rf1;
mod screenshot;
mod skim;
mod tiles;
mod traj;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "tessera",
    version,
    about = "Review hundreds of hours of camera footage.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// Archive to open in the GUI (a folder dialog asks when omitted).
    pub archive: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Inspect rf1 track files.
    #[command(subcommand)]
    Rf1(rf1::Rf1Command),
    /// Import footage into an archive.
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Inspect an fsv archive.
    #[command(subcommand)]
    Archive(archive::ArchiveCommand),
    /// Ingest and list detection events.
    #[command(subcommand)]
    Events(events::EventsCommand),
    /// Read and rebuild event tiles.
    #[command(subcommand)]
    Tiles(tiles::TilesCommand),
    /// Keyframe previews for skimming: build them, or get one as PNG.
    #[command(subcommand)]
    Previews(previews::PreviewsCommand),
    /// Write the frame displayed at a time (raw I420 for .yuv, else PNG).
    Frame(frame::FrameArgs),
    /// Export a range of a stream as MP4 (remuxed, no re-encoding) or raw Annex-B.
    Export(export::ExportArgs),
    /// Draw the whole main window at a playhead offscreen and write it as a PNG.
    Screenshot(screenshot::ScreenshotArgs),
    /// Render timeline strips offscreen to a PNG (same wgpu pipeline as the app).
    RenderTimeline(render_timeline::RenderTimelineArgs),
    /// The skim plan of a range: spans with events at one speed, quiet spans at another.
    Skim(skim::SkimArgs),
    /// Named time ranges with notes, kept in the archive.
    #[command(subcommand)]
    Bookmarks(bookmarks::BookmarksCommand),
    /// Labelling projects and their classifications.
    #[command(subcommand)]
    Catalog(catalog::CatalogCommand),
    /// The observation table of labelling projects: populate, status, query.
    #[command(subcommand, name = "hypertable")]
    Observations(observations::ObservationsCommand),
    /// Flight trajectories from a feder store: query, index, project onto a camera.
    #[command(subcommand)]
    Traj(traj::TrajCommand),
    /// Benchmarks with end-to-end figures.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Write a synthetic demo archive (real H.264), then open the GUI on it.
    Demo(crate::demo::DemoCommand),
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print(); // --help, --version
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // Usage errors as one line (clap adds a hint line and usage block).
            let text = e.render().to_string();
            let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("error: bad usage");
            eprintln!("{line}");
            return ExitCode::from(2);
        }
    };
    init_tracing();
    let result = match cli.command {
        None => crate::ui::run(cli.archive),
        Some(Command::Rf1(c)) => rf1::run(c),
        Some(Command::Import(c)) => import::run(c),
        Some(Command::Archive(c)) => archive::run(c),
        Some(Command::Events(c)) => events::run(c),
        Some(Command::Tiles(c)) => tiles::run(c),
        Some(Command::Traj(c)) => traj::run(c),
        Some(Command::Catalog(c)) => catalog::run(c),
        Some(Command::Bookmarks(c)) => bookmarks::run(c),
        Some(Command::Observations(c)) => observations::run(c),
        Some(Command::Previews(c)) => previews::run(c),
        Some(Command::Frame(args)) => frame::run(args),
        Some(Command::Export(args)) => export::run(args),
        Some(Command::Screenshot(args)) => screenshot::run(args),
        Some(Command::RenderTimeline(args)) => render_timeline::run(args),
        Some(Command::Skim(args)) => skim::run(args),
        Some(Command::Bench(c)) => bench::run(c),
        Some(Command::Demo(args)) => crate::demo::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output is gone (`| head`): done, like other Unix tools.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<observations::Refused>().is_some() => {
            eprintln!("error: {}", observations::scrub_secrets(&e.to_string()));
            ExitCode::from(3)
        }
        Err(e) => {
            eprintln!("error: {}", observations::scrub_secrets(&error_line(&e))); // no password, ever
            ExitCode::from(1)
        }
    }
}

/// An error as one line: its context chain joined with ": ", leaving out a cause whose text
/// the line already ends with (an error that prints its source, as `"{path}: {source}"`
/// does, would otherwise repeat it: "No space left on device (os error 28): No space left
/// on device (os error 28)").
pub fn error_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line.replace(['\n', '\r'], " ")
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,wgpu_hal=off"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Whether a `BrokenPipe` I/O error is anywhere in the error's chain.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Comma-separated numbers (`--bbox`-style arguments), each named when it is not one.
pub fn parse_numbers(text: &str) -> Result<Vec<f64>, String> {
    text.split(',').map(|v| v.trim().parse::<f64>().map_err(|_| format!("{v:?} is not a number"))).collect()
}

/// Print a value as one line of JSON on stdout. A closed pipe (`| head`) is returned as a
/// `BrokenPipe` error, which [`main`] turns into a quiet exit.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value).map_err(std::io::Error::from)?;
    Ok(writeln!(out)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{path}: {source}")]
    struct Named {
        path: String,
        source: std::io::Error,
    }

    /// An error that prints its source is not repeated by the line; context still is shown.
    #[test]
    fn error_line_names_each_cause_once() {
        let full = std::io::Error::from_raw_os_error(28);
        let e = anyhow::Error::new(Named { path: "/t/x.rf1p".into(), source: full }).context("import failed");
        let line = error_line(&e);
        assert_eq!(line.matches("os error 28").count(), 1, "{line}");
        assert!(line.starts_with("import failed: /t/x.rf1p: "), "{line}");
        let plain = anyhow::anyhow!("inner").context("outer\nsecond");
        assert_eq!(error_line(&plain), "outer second: inner");
    }
}
