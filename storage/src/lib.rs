//! tessera-storage: everything Tessera keeps on disk.
//!
//! - [`rf1`]: cyclops-compatible track files (index + packets), crash recovery, reading by time.
//! - [`fsv`]: the directory archive of rf1 files per stream, time-range lookup, roll-over,
//!   the storage-budget sweeper and H.264 import.
//! - [`codec`]: what Tessera knows of H.264 and H.265 (NALU roles, keyframes, rf1 flags,
//!   access units, SPS size and colour), in one place for storage, playback and export.
//! - [`time`]: the one time type (`UnixMicros`) and command-line time parsing.
//! - [`sqlite`]: how `tessera.sqlite` is opened (readers never write) and its errors.
//! - [`events`]: the event tables; [`tiles`]: the tile tables and tile rules; [`db`], above
//!   both: the archive's event database, ingest = insert + tile upkeep, cyclops mirroring.
//! - [`observations`]: labelling projects' frames files, catalog and observation table.
//! - [`names`]: the one rule for stored names and notes (length, printable characters).
//! - [`feder`]: flight trajectories in a feder store (read-only), queries and the sidecar index.
//! - [`previews`]: small pictures of keyframes for skimming, in their own SQLite file.
//! - [`user_cache`]: where derived files of sources we may not write go.
//!
//! This crate has no GUI dependencies (see docs/ARCHITECTURE.md).

pub mod codec;
pub mod db;
pub mod events;
pub mod feder;
pub mod fsv;
pub mod names;
pub mod observations;
pub mod previews;
pub mod rf1;
pub mod sqlite;
pub mod tiles;
pub mod time;
pub mod user_cache;

pub use db::EventDb;
pub use sqlite::DbError;
pub use time::UnixMicros;
