//! One face for both observation-table backends: the embedded SQLite files of a catalog
//! directory (default) or a PostgreSQL server (`postgres://…`). The CLI and the GUI's
//! Projects panel go through this; the backends differ in where population state lives (the
//! catalog file, or the server beside the rows) and how liveness is proved (process id and
//! heartbeat, or advisory lock and heartbeat).

use super::catalog::{Catalog, CatalogError, ProjectState, TableConfig, parse_interval};
use super::frames::FrameRecord;
use super::pg::{Partition, PgTable};
use super::rate::Rate;
use super::table::{Observation, ObservationQuery, ObservationTable};
use std::path::{Path, PathBuf};

/// Where a catalog's observation rows live.
#[derive(Debug)]
pub enum ObservationStore {
    /// `<catalog>/observations/project-<id>.sqlite`, state in `<catalog>/catalog.sqlite`.
    Embedded(PathBuf),
    Postgres(Box<PgTable>),
}

/// Whether `url` names a PostgreSQL server (otherwise: embedded).
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://") || url.contains("host=")
}

impl ObservationStore {
    /// The store of catalog `dir`: embedded unless `database` names a server. Anything else
    /// (a typo, another scheme) is an error rather than a silent fallback.
    pub fn open(dir: &Path, database: Option<&str>) -> Result<Self, CatalogError> {
        match database.map(str::trim) {
            None | Some("") | Some("sqlite:") => Ok(ObservationStore::Embedded(dir.to_path_buf())),
            Some(url) if is_postgres(url) => Ok(ObservationStore::Postgres(Box::new(PgTable::connect(url)?))),
            Some(url) => Err(CatalogError::Invalid(format!(
                "--database {}: not a PostgreSQL URL (postgres://user@host/db); leave it out for the embedded table",
                super::redact::redact(url) // never echo a password, even of a value that does not parse
            ))),
        }
    }

    /// "sqlite", "postgresql" or "timescaledb".
    pub fn backend(&self) -> &'static str {
        match self {
            ObservationStore::Embedded(_) => "sqlite",
            ObservationStore::Postgres(pg) => pg.backend(),
        }
    }

    pub fn states(&mut self, catalog: &Catalog) -> Result<Vec<ProjectState>, CatalogError> {
        match self {
            ObservationStore::Embedded(_) => catalog.states(),
            ObservationStore::Postgres(pg) => pg.states(catalog),
        }
    }

    /// Claim `projects` at `fps`, all or none ([`CatalogError::Busy`] when one is populating).
    pub fn claim(
        &mut self,
        catalog: &mut Catalog,
        projects: &[i64],
        fps: Rate,
        reset: bool,
    ) -> Result<(), CatalogError> {
        match self {
            ObservationStore::Embedded(_) => catalog.claim(projects, &fps.to_string(), reset),
            ObservationStore::Postgres(pg) => pg.claim(catalog, projects, fps, reset),
        }
    }

    /// The claim passes to the background worker `child`: its process id in the catalog, or
    /// on a server the claim locks, each let go once the worker queues on it (so a live
    /// claim's lock is never free). An error when the worker exits first.
    pub fn hand_over(
        &mut self,
        catalog: &Catalog,
        projects: &[i64],
        child: &mut std::process::Child,
    ) -> Result<(), CatalogError> {
        match self {
            ObservationStore::Embedded(_) => projects.iter().try_for_each(|&p| catalog.set_worker(p, child.id())),
            ObservationStore::Postgres(pg) => pg.hand_over(projects, child),
        }
    }

    /// This process (the background worker) takes over a claim made by the one that started
    /// it; before populating any of its projects, it takes over all of them.
    pub fn take_over(&mut self, catalog: &Catalog, project: i64) -> Result<(), CatalogError> {
        match self {
            ObservationStore::Embedded(_) => catalog.set_worker(project, std::process::id()),
            ObservationStore::Postgres(pg) => pg.take_over(project),
        }
    }

    /// Populate a claimed project and record the outcome: `ready` with its rows, or the error
    /// (also returned) — beside the earlier rows, still `ready`, when the project had them,
    /// else `failed`. A failed run leaves no partial file behind.
    pub fn populate(
        &mut self,
        catalog: &Catalog,
        project: i64,
        rate: Rate,
        progress: impl FnMut(i64, f64),
    ) -> Result<i64, CatalogError> {
        match self {
            ObservationStore::Embedded(dir) => {
                let result = ObservationTable::open(dir).and_then(|mut t| t.populate(catalog, project, rate, progress));
                catalog.finish(project, result.as_ref().map(|&r| r).map_err(ToString::to_string))?;
                result
            }
            ObservationStore::Postgres(pg) => pg.populate(catalog, project, rate, progress), // records failures
        }
    }

    /// Record claimed projects as failed without running them (the worker could not start):
    /// as a failed run, so a project with earlier rows stays `ready` with the error.
    pub fn abandon(&mut self, catalog: &Catalog, projects: &[i64], error: &str) -> Result<(), CatalogError> {
        for &p in projects {
            match self {
                ObservationStore::Embedded(_) => catalog.finish(p, Err(error.to_string()))?,
                ObservationStore::Postgres(pg) => pg.fail_project(p, error)?,
            }
        }
        Ok(())
    }

    pub fn query(&mut self, q: &ObservationQuery) -> Result<Vec<Observation>, CatalogError> {
        match self {
            ObservationStore::Embedded(dir) => ObservationTable::open(dir)?.query(q),
            ObservationStore::Postgres(pg) => pg.query(q),
        }
    }

    pub fn frames_of(
        &mut self,
        project: i64,
        classification: i64,
        labels: &mut Vec<String>,
    ) -> Result<Vec<FrameRecord>, CatalogError> {
        match self {
            ObservationStore::Embedded(dir) => ObservationTable::open(dir)?.frames_of(project, classification, labels),
            ObservationStore::Postgres(pg) => pg.frames_of(project, classification, labels),
        }
    }

    pub fn config(&mut self, catalog: &Catalog) -> Result<TableConfig, CatalogError> {
        match self {
            ObservationStore::Embedded(_) => catalog.config(),
            ObservationStore::Postgres(pg) => pg.config(),
        }
    }

    /// The statements `configure` would run (none when nothing differs).
    pub fn changes(
        &mut self,
        catalog: &Catalog,
        chunk_interval: Option<&str>,
        compress_after: Option<&str>,
        segmentby: Option<&str>,
    ) -> Result<Vec<String>, CatalogError> {
        match self {
            ObservationStore::Embedded(_) => {
                catalog.config()?.changes(chunk_interval, compress_after, segmentby).map_err(CatalogError::Invalid)
            }
            ObservationStore::Postgres(pg) => pg.changes(chunk_interval, compress_after, segmentby),
        }
    }

    pub fn apply(&mut self, catalog: &mut Catalog, statements: &[String]) -> Result<(), CatalogError> {
        match self {
            ObservationStore::Embedded(_) => catalog.apply(statements),
            ObservationStore::Postgres(pg) => pg.apply(statements),
        }
    }

    /// Time chunks with their rows: the embedded table's rows grouped by the chunk interval,
    /// or the server's partitions (chunks on TimescaleDB).
    pub fn chunks(&mut self, catalog: &Catalog) -> Result<Vec<Partition>, CatalogError> {
        match self {
            ObservationStore::Embedded(dir) => {
                let (interval_s, _) =
                    parse_interval(&catalog.config()?.chunk_interval).map_err(CatalogError::Invalid)?;
                let chunks = ObservationTable::open(dir)?.chunks(interval_s)?;
                Ok(chunks
                    .into_iter()
                    .map(|(start_us, end_us, rows)| Partition { name: String::new(), start_us, end_us, rows })
                    .collect())
            }
            ObservationStore::Postgres(pg) => pg.partitions(),
        }
    }
}
