//! `tessera frame --archive DIR --stream NAME --at T --out F`: the picture displayed at a time
//! (in presentation order: the k-th picture of a GOP at its k-th access unit's time, the latest
//! such time ≤ T), as raw I420 (`.yuv`) or PNG (anything else, with the stream's colours). The
//! body is [`tessera_engine::frame`].

use std::path::PathBuf;
use tessera_engine::frame::{FrameSpec, write_frame};
use tessera_storage::UnixMicros;

#[derive(clap::Args, Debug)]
pub struct FrameArgs {
    #[arg(long)]
    pub archive: PathBuf,
    #[arg(long)]
    pub stream: String,
    #[arg(long)]
    pub at: UnixMicros,
    /// `.yuv` = raw I420 (Y, U, V planes, no padding); otherwise PNG.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: FrameArgs) -> anyhow::Result<()> {
    write_frame(&FrameSpec { archive: args.archive, stream: args.stream, at_us: args.at.0, out: args.out })
}
