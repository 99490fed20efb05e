//! `tessera render-timeline`: the timeline strips rendered offscreen with the app's own wgpu
//! pipeline, written as a PNG (+ a layout JSON saying which pixels are which). The body is
//! [`tessera_engine::render_timeline`].

use std::path::PathBuf;
use tessera_engine::render_timeline::{self, TimelineSpec};
use tessera_render::timeline::TileStyle;
use tessera_storage::UnixMicros;

#[derive(clap::Args, Debug)]
pub struct RenderTimelineArgs {
    #[arg(long)]
    pub archive: PathBuf,
    /// Comma-separated cameras, top to bottom.
    #[arg(long, value_delimiter = ',', required = true)]
    pub cameras: Vec<String>,
    #[arg(long)]
    pub from: UnixMicros,
    #[arg(long)]
    pub to: UnixMicros,
    /// PNG width in pixels.
    #[arg(long, default_value_t = 2000)]
    pub width: u32,
    #[arg(long)]
    pub out: PathBuf,
    /// Write the pixel layout as JSON.
    #[arg(long)]
    pub layout: Option<PathBuf>,
    /// Pin the clock (unix seconds): later columns are drawn as the future.
    #[arg(long, allow_hyphen_values = true)]
    pub now: Option<i64>,
    /// `presence`: the class colour wherever a detection is; `coverage`: brighter where
    /// more of the time under a pixel has the class (the GUI's default).
    #[arg(long, value_enum, default_value_t = StyleArg::Presence)]
    pub style: StyleArg,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StyleArg {
    Presence,
    Coverage,
}

impl From<StyleArg> for TileStyle {
    fn from(style: StyleArg) -> Self {
        match style {
            StyleArg::Presence => TileStyle::Presence,
            StyleArg::Coverage => TileStyle::Coverage,
        }
    }
}

pub fn run(args: RenderTimelineArgs) -> anyhow::Result<()> {
    let spec = TimelineSpec {
        archive: args.archive,
        cameras: args.cameras,
        from_us: args.from.0,
        to_us: args.to.0,
        width: args.width,
        now_s: args.now,
        style: args.style.into(),
    };
    // Checked here first so the errors name the flags.
    render_timeline::check(&spec, ["--from", "--to", "--width"])?;
    render_timeline::write(&spec, &args.out, args.layout.as_deref())
}
