//! Frame observations of labelling projects.
//!
//! - [`frames`]: frames msgpack files (the durable source of truth), streamed.
//! - [`rate`]: exact downsampling to a target frame rate.
//! - [`catalog`]: projects, classifications and population state (`catalog.sqlite`).
//! - [`table`]: the derived observation table, embedded backend (a SQLite file per project):
//!   populate (replace a project's rows) and query.
//! - [`pg`]: the same table on a PostgreSQL server (COPY BINARY, partitions, advisory locks).
//! - [`store`]: one face for both backends.
//! - [`frames_path`]: where frames files are (stored relative to the catalog when inside it)
//!   and where a rebuild may write one.
//! - [`redact`]: database passwords out of every message.

pub mod catalog;
pub mod frames;
pub mod frames_path;
pub mod pg;
pub mod rate;
pub mod redact;
pub mod store;
pub mod table;

pub use catalog::{Catalog, CatalogError, Manifest, ProjectState};
pub use frames::{FrameObject, FrameRecord, FramesHeader, FramesReader, write_frames};
pub use rate::{Downsampler, Rate};
pub use store::ObservationStore;
pub use table::{Observation, ObservationQuery, ObservationTable};
