//! `tessera tiles get|rebuild`.

use clap::Subcommand;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;
use tessera_storage::EventDb;
use tessera_storage::UnixMicros;
use tessera_storage::tiles::{L_MAX, TileKey};

#[derive(Subcommand, Debug)]
pub enum TilesCommand {
    /// One tile as runs of set bits per class.
    Get {
        #[arg(long)]
        archive: PathBuf,
        #[arg(long)]
        camera: String,
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=i64::from(L_MAX)))]
        level: u8,
        #[arg(long, allow_hyphen_values = true)]
        index: i64,
        /// Pin the clock (unix seconds): the answer is what was known then.
        #[arg(long, allow_hyphen_values = true)]
        now: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// Recreate every tile from the events (tiles are a derived index).
    Rebuild {
        #[arg(long)]
        archive: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct TileJson {
    camera: String,
    level: u8,
    index: i64,
    start_s: i64,
    seconds_per_bit: i64,
    classes: BTreeMap<String, Vec<[u32; 2]>>,
}

pub fn run(command: TilesCommand) -> anyhow::Result<()> {
    match command {
        TilesCommand::Get { archive, camera, level, index, now, json } => {
            // Tile times are `(index << level) · 1024` s: keep them far inside i64.
            let start = (i128::from(index) << level) * 1024;
            if start.abs() > i128::from(i64::MAX / 4) {
                anyhow::bail!("--index {index} is out of range at level {level}");
            }
            let db = EventDb::open_read(&archive)?;
            let now = now.unwrap_or_else(|| UnixMicros::now().secs_floor());
            let key = TileKey { level, index };
            let (tile, _) = db.tile_service().get(db.string_id(&camera)?, key, now)?;
            let mut classes = BTreeMap::new();
            for (class, _) in tile.rows() {
                classes.insert(db.string(*class)?, tile.runs(*class).into_iter().map(|(a, b)| [a, b]).collect());
            }
            let out = TileJson {
                camera,
                level,
                index,
                start_s: key.start_s(),
                seconds_per_bit: key.seconds_per_bit(),
                classes,
            };
            if json {
                return crate::cli::print_json(&out);
            }
            crate::cli::out!(
                "{} level {} index {} from {} ({} s/bit)",
                out.camera,
                level,
                index,
                UnixMicros(out.start_s.saturating_mul(1_000_000)),
                out.seconds_per_bit
            )?;
            for (class, runs) in &out.classes {
                crate::cli::out!("  {class}: {runs:?}")?;
            }
            Ok(())
        }
        TilesCommand::Rebuild { archive, json } => {
            let started = Instant::now();
            // Rebuilding derives tiles; it must not turn a stray directory into an archive.
            tessera_storage::db::require_archive(&archive)?;
            let db = EventDb::open_write(&archive)?;
            let cameras = db.rebuild_tiles(UnixMicros::now().secs_floor())?;
            let tiles: usize = cameras.iter().map(|c| c.1).sum();
            let secs = started.elapsed().as_secs_f64();
            if json {
                return crate::cli::print_json(
                    &serde_json::json!({ "cameras": cameras.len(), "tiles": tiles, "seconds": secs }),
                );
            }
            crate::cli::out!("rebuilt {tiles} tiles of {} cameras in {secs:.2} s", cameras.len())?;
            Ok(())
        }
    }
}
