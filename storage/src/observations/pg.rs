//! The observation table on a PostgreSQL server (`--database postgres://…`): the same rows
//! as the embedded backend, for a team that shares one server.
//!
//! Population state (`frame_table_project`) and settings (`frame_table_config`) live on the
//! server beside the rows, so every machine sees the same status; projects and
//! classifications stay in the catalog directory.
//!
//! - **Partitions.** With TimescaleDB available the table is a hypertable. Otherwise it is a
//!   PostgreSQL range-partitioned table whose partitions Tessera creates: aligned to multiples
//!   of the chunk interval from the Unix epoch, clipped against existing partitions (so a
//!   changed interval leaves a bridging partition, never a hole or an overlap), created as a
//!   plain table and then `ATTACH`ed — attaching takes only a SHARE UPDATE EXCLUSIVE lock on
//!   the parent, so it does not wait for other projects' running loads, as `CREATE TABLE …
//!   PARTITION OF` would.
//! - **Populate.** A session advisory lock per project (two-int form: namespace, project id)
//!   is held from the claim to the recorded outcome — by the claiming process, then by its
//!   background worker, which queues on each lock before the claimer lets it go, so the lock
//!   is never free while a run is alive. Rows are replaced in one transaction (`DELETE`, then
//!   `COPY … FROM STDIN BINARY`) that also sets `ready`, so rows and status commit together.
//!   A failed run is recorded before its lock is released: `ready` with the earlier rows (the
//!   rolled-back transaction left them; their rate and count are remembered at the claim in
//!   `frame_table_last_ready`) and the error, or `failed` when there were none. A populator
//!   killed mid-run, or whose connection closed, leaves the old rows and a `populating` claim
//!   whose lock is free: read as failed at once, and `--reset` takes it over at once.
//! - **Heartbeats** go through a second connection, outside the loading transaction, once a
//!   second.

use super::catalog::{Catalog, CatalogError, ProjectState, TableConfig, parse_interval};
use super::frames::{FrameObject, FrameRecord, label_index, push_object};
use super::rate::Rate;
use super::table::{Chunk, Observation, ObservationQuery, spawn_reader};
use bytes::{BufMut, BytesMut};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{FromSql, IsNull, ToSql, Type, accepts, to_sql_checked};
use postgres::{Client, NoTls};
use std::time::{Duration, Instant};

/// Advisory-lock namespace of Tessera's observation table (first key of the two-int form).
const LOCK_NS: i32 = 0x07E5_50B5;
/// Second key, in [`LOCK_NS`], of the lock that serializes partition creation and schema setup.
const PARTITIONS_KEY: i32 = -1;
const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);
/// How long a claimer waits for its background worker to queue on a project's lock, and the
/// worker for the claimer to let it go.
const HAND_OVER_WAIT: Duration = Duration::from_secs(10);
/// Whether a session holds the populator lock of the row's `project_id` (read from
/// `pg_locks`, which never takes or disturbs a lock). Keys as [`lock_key`] makes them.
const LOCK_HELD: &str = "EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted \
     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
     AND l.classid::int8 = 132468917 AND l.objid::int8 = (project_id & 4294967295) AND l.objsubid = 2)";
const _: () = assert!(LOCK_NS == 132_468_917, "LOCK_HELD names the namespace");
/// µs from the Unix epoch to PostgreSQL's (2000-01-01).
const PG_EPOCH_US: i64 = 946_684_800_000_000;

const SCHEMA: &str = "
DO $$ BEGIN
  CREATE TYPE frame_table_status AS ENUM ('pending','populating','ready','failed');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
CREATE TABLE IF NOT EXISTS frame_table_project (
  project_id   bigint PRIMARY KEY,
  status       frame_table_status NOT NULL DEFAULT 'pending',
  target_fps   real NOT NULL CHECK (target_fps > 0),
  rows_written bigint NOT NULL DEFAULT 0,
  started_at timestamptz, finished_at timestamptz, heartbeat_at timestamptz,
  error        text,
  progress     real NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS frame_table_last_ready (
  project_id   bigint PRIMARY KEY,
  target_fps   real NOT NULL,
  rows_written bigint NOT NULL);
CREATE TABLE IF NOT EXISTS frame_table_config (
  singleton          boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  chunk_interval     interval NOT NULL DEFAULT '1 day',
  compress_after     interval,
  compress_segmentby text[]   NOT NULL DEFAULT '{project_id,classification_id}',
  compress_orderby   text     NOT NULL DEFAULT 'frame_time');
INSERT INTO frame_table_config DEFAULT VALUES ON CONFLICT DO NOTHING;
";

/// The table itself; `{partition}` is `PARTITION BY RANGE (frame_time)` or nothing (hypertable).
/// The published layout's index on (project_id, classification_id, frame_time) is the primary
/// key's prefix, so the key serves those lookups and the load maintains one index fewer.
/// `t_us` (µs since the video start, as in the frames file) is Tessera's addition to the
/// published layout: queries answer with it without a join.
const OBSERVATION_TABLE: &str = "
CREATE TABLE IF NOT EXISTS frame_observation (
  project_id        bigint      NOT NULL,
  classification_id bigint      NOT NULL,
  video_id          bigint      NOT NULL,
  frame_time        timestamptz NOT NULL,
  t_us              bigint      NOT NULL,
  frame_index       integer     NOT NULL,
  obj_index         smallint    NOT NULL,
  track_id          bigint,
  label             text        NOT NULL,
  confidence        real,
  bbox_x real NOT NULL, bbox_y real NOT NULL, bbox_w real NOT NULL, bbox_h real NOT NULL,
  flags             smallint    NOT NULL DEFAULT 0,
  attrs             jsonb,
  PRIMARY KEY (project_id, classification_id, frame_time, frame_index, obj_index)
) {partition};
CREATE INDEX IF NOT EXISTS frame_observation_label ON frame_observation (project_id, label, frame_time);
";

const COPY_COLUMNS: &str = "project_id, classification_id, video_id, frame_time, t_us, frame_index, obj_index, \
                            track_id, label, confidence, bbox_x, bbox_y, bbox_w, bbox_h, flags, attrs";
const COPY_TYPES: [Type; 16] = [
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::TIMESTAMPTZ,
    Type::INT8,
    Type::INT4,
    Type::INT2,
    Type::INT8,
    Type::TEXT,
    Type::FLOAT4,
    Type::FLOAT4,
    Type::FLOAT4,
    Type::FLOAT4,
    Type::FLOAT4,
    Type::INT2,
    Type::JSONB,
];

/// A `timestamptz` as Unix µs, exactly (PostgreSQL stores µs since 2000-01-01).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Micros(i64);

impl ToSql for Micros {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.put_i64(self.0.checked_sub(PG_EPOCH_US).ok_or("time out of range")?);
        Ok(IsNull::No)
    }
    accepts!(TIMESTAMPTZ);
    to_sql_checked!();
}

impl<'a> FromSql<'a> for Micros {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let raw: [u8; 8] = raw.try_into().map_err(|_| "timestamptz is not 8 bytes")?;
        Ok(Micros(i64::from_be_bytes(raw).saturating_add(PG_EPOCH_US)))
    }
    accepts!(TIMESTAMPTZ);
}

/// One partition of the native layout: name, [start, end) in Unix µs, rows (when counted).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Partition {
    pub name: String,
    pub start_us: i64,
    pub end_us: i64,
    pub rows: i64,
}

/// The observation table on a PostgreSQL server.
pub struct PgTable {
    /// Loads and queries.
    client: Client,
    /// Locks, claims and heartbeats: outside the loading transaction (connected when first
    /// needed: `status` never needs it).
    side: Option<Client>,
    /// Projects whose populator lock `side` holds (claimed here, or taken over).
    held: Vec<i64>,
    config: postgres::Config,
    /// The URL without its password, for messages.
    target: String,
    pub timescale: bool,
}

impl std::fmt::Debug for PgTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTable").field("target", &self.target).field("timescale", &self.timescale).finish()
    }
}

/// `url` with any password replaced by `***` (every form: see [`super::redact`]).
pub use super::redact::redact;

/// A one-line message from a server error: the server's own message (and detail) when it
/// sent one, the client's otherwise.
fn message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        },
        None => {
            // The client's own errors say what failed in the top error and why in its source.
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            text
        }
    }
}

/// The lock keys of a project. Ids beyond 32 bits share keys (wrapping): at worst a spurious
/// "already populating", never two populators of one project.
fn lock_key(project: i64) -> i32 {
    project as i32
}

/// A partition's name from its start (Unix µs).
fn partition_name(start_us: i64) -> String {
    if start_us < 0 {
        format!("frame_observation_n{}", start_us.unsigned_abs())
    } else {
        format!("frame_observation_p{start_us}")
    }
}

/// A `timestamptz` literal for Unix µs (partition bounds must be constants).
fn timestamp_literal(us: i64) -> String {
    match chrono::DateTime::from_timestamp_micros(us) {
        Some(t) => format!("'{}'", t.format("%Y-%m-%d %H:%M:%S%.6f+00")),
        None => format!("'epoch'::timestamptz + interval '{us} microseconds'"),
    }
}

/// The range of the partition for time `t` (not covered by `existing`, sorted by start):
/// the interval-aligned slot around it, clipped against its neighbours.
pub fn partition_range(t: i64, interval_us: i64, existing: &[(i64, i64)]) -> (i64, i64) {
    let mut start = t.div_euclid(interval_us).saturating_mul(interval_us);
    let mut end = start.saturating_add(interval_us);
    for &(s, e) in existing {
        if e <= t && e > start {
            start = e;
        }
        if s > t && s < end {
            end = s;
        }
    }
    (start, end)
}

impl PgTable {
    /// Connect and make sure the tables exist.
    pub fn connect(url: &str) -> Result<Self, CatalogError> {
        let target = redact(url);
        let fail = |e: postgres::Error| CatalogError::Invalid(format!("{target}: {}", message(&e)));
        let mut config: postgres::Config = url.parse().map_err(fail)?;
        // Partition bounds and intervals read back in UTC whatever the server's default.
        config.options("-c TimeZone=UTC");
        let mut client = config.connect(NoTls).map_err(fail)?;
        let row = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'), \
                 to_regclass('frame_observation') IS NOT NULL AND to_regclass('frame_table_config') IS NOT NULL \
                 AND to_regclass('frame_table_last_ready') IS NOT NULL",
                &[],
            )
            .map_err(fail)?;
        let (timescale, present): (bool, bool) = (row.get(0), row.get(1));
        let mut table = PgTable { client, side: None, held: Vec::new(), config, target, timescale };
        if !present {
            table.ensure_schema()?;
        }
        Ok(table)
    }

    fn fail(&self) -> impl Fn(postgres::Error) -> CatalogError + '_ {
        |e| CatalogError::Invalid(format!("{}: {}", self.target, message(&e)))
    }

    /// Create the tables unless they exist (serialized between processes by an advisory lock).
    fn ensure_schema(&mut self) -> Result<(), CatalogError> {
        let target = self.target.clone();
        let fail = |e: postgres::Error| CatalogError::Invalid(format!("{target}: {}", message(&e)));
        let mut tx = self.client.transaction().map_err(fail)?;
        tx.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&LOCK_NS, &PARTITIONS_KEY]).map_err(fail)?;
        tx.batch_execute(SCHEMA).map_err(fail)?;
        if self.timescale {
            tx.batch_execute("CREATE EXTENSION IF NOT EXISTS timescaledb").map_err(fail)?;
            let exists: bool =
                tx.query_one("SELECT to_regclass('frame_observation') IS NOT NULL", &[]).map_err(fail)?.get(0);
            tx.batch_execute(&OBSERVATION_TABLE.replace("{partition}", "")).map_err(fail)?;
            if !exists {
                tx.batch_execute(
                    "SELECT create_hypertable('frame_observation', by_range('frame_time', \
                     (SELECT chunk_interval FROM frame_table_config)))",
                )
                .map_err(fail)?;
            }
        } else {
            tx.batch_execute(&OBSERVATION_TABLE.replace("{partition}", "PARTITION BY RANGE (frame_time)"))
                .map_err(fail)?;
        }
        tx.commit().map_err(fail)
    }

    /// "timescaledb" or "postgresql".
    pub fn backend(&self) -> &'static str {
        if self.timescale { "timescaledb" } else { "postgresql" }
    }

    /// Every catalog project's state (those the server has not seen yet are `pending`); a
    /// `populating` project whose lock no session holds reads as failed ("populator lost")
    /// and `stale` at once: the lock is held from the claim until the outcome is recorded.
    pub fn states(&mut self, catalog: &Catalog) -> Result<Vec<ProjectState>, CatalogError> {
        let names = catalog.project_names()?;
        let rows = self
            .client
            .query(
                format!(
                    "SELECT project_id, status::text, target_fps::float8, rows_written, progress::float8, error, \
                 (extract(epoch FROM started_at) * 1000)::bigint, (extract(epoch FROM finished_at) * 1000)::bigint, \
                 (extract(epoch FROM heartbeat_at) * 1000)::bigint, \
                 (extract(epoch FROM now() - heartbeat_at) * 1000)::bigint, \
                 CASE WHEN status = 'populating' THEN NOT {LOCK_HELD} ELSE false END \
                 FROM frame_table_project"
                )
                .as_str(),
                &[],
            )
            .map_err(self.fail())?;
        let mut by_id = std::collections::HashMap::with_capacity(rows.len());
        for r in rows {
            by_id.insert(r.get::<_, i64>(0), r);
        }
        let mut out = Vec::with_capacity(names.len());
        for (id, name) in names {
            let Some(r) = by_id.get(&id) else {
                out.push(ProjectState {
                    id,
                    name,
                    status: "pending".into(),
                    fps: "1".into(),
                    rows: 0,
                    progress: 0.0,
                    error: None,
                    stale: false,
                    started_at_ms: None,
                    finished_at_ms: None,
                    heartbeat_at_ms: None,
                });
                continue;
            };
            let mut state = ProjectState {
                id,
                name,
                status: r.get(1),
                fps: format_fps(r.get::<_, f64>(2)),
                rows: r.get(3),
                progress: r.get(4),
                error: r.get(5),
                stale: false,
                started_at_ms: r.get(6),
                finished_at_ms: r.get(7),
                heartbeat_at_ms: r.get(8),
            };
            let silent_ms: Option<i64> = r.get(9);
            if r.get::<_, bool>(10) {
                state.stale = true;
                state.status = "failed".into();
                state.error = Some(format!(
                    "populator lost: its connection to the server closed before it recorded an outcome \
                     (last heartbeat {} s ago); `tessera hypertable populate --reset` clears it",
                    silent_ms.unwrap_or(0) / 1000
                ));
            }
            out.push(state);
        }
        Ok(out)
    }

    /// The second connection, connected on first use.
    fn side(&mut self) -> Result<&mut Client, CatalogError> {
        if self.side.is_none() {
            let client = self
                .config
                .connect(NoTls)
                .map_err(|e| CatalogError::Invalid(format!("{}: {}", self.target, message(&e))))?;
            self.side = Some(client);
        }
        self.side.as_mut().ok_or_else(|| CatalogError::Invalid(format!("{}: no connection", self.target)))
    }

    fn unlock(&mut self, project: i64) -> Result<(), CatalogError> {
        self.held.retain(|&p| p != project);
        self.side()?
            .execute("SELECT pg_advisory_unlock($1, $2)", &[&LOCK_NS, &lock_key(project)])
            .map_err(|e| CatalogError::Invalid(format!("{}: {}", self.target, message(&e))))?;
        Ok(())
    }

    /// Claim `projects` at `fps`, all or none: each project's lock, then `populating`. A
    /// project being populated is refused ([`CatalogError::Busy`]); a `populating` project
    /// whose lock this session just took is a lost claim, taken over with `reset` (refused
    /// without). The locks stay held by this session until the run's outcome is recorded, or
    /// are handed to a background worker ([`Self::hand_over`]).
    pub fn claim(&mut self, catalog: &Catalog, projects: &[i64], fps: Rate, reset: bool) -> Result<(), CatalogError> {
        let known = catalog.project_names()?;
        for &id in projects {
            if !known.iter().any(|(k, _)| *k == id) {
                return Err(CatalogError::Invalid(format!("no project {id} in the catalog")));
            }
        }
        let mut locked = Vec::new();
        let result = (|| {
            for &id in projects {
                let granted: bool = self
                    .side()?
                    .query_one("SELECT pg_try_advisory_lock($1, $2)", &[&LOCK_NS, &lock_key(id)])
                    .map_err(self.fail_side())?
                    .get(0);
                if !granted {
                    return Err(CatalogError::Busy(format!("project {id} is already populating")));
                }
                locked.push(id);
            }
            let fps_real = fps.as_f64() as f32;
            let mut tx = self.side()?.transaction().map_err(|e| CatalogError::Invalid(message(&e)))?;
            tx.execute(
                "INSERT INTO frame_table_project (project_id, target_fps) SELECT unnest($1::bigint[]), $2 \
                 ON CONFLICT DO NOTHING",
                &[&projects, &fps_real],
            )
            .map_err(|e| CatalogError::Invalid(message(&e)))?;
            // Holding the locks, a `populating` project is one whose populator is gone.
            let lost = tx
                .query(
                    "SELECT project_id FROM frame_table_project WHERE project_id = ANY($1) AND status = 'populating' \
                     ORDER BY project_id LIMIT 1",
                    &[&projects],
                )
                .map_err(|e| CatalogError::Invalid(message(&e)))?;
            if let (Some(row), false) = (lost.first(), reset) {
                return Err(CatalogError::Busy(format!(
                    "project {} is marked populating but its populator is gone; run again with --reset",
                    row.get::<_, i64>(0)
                )));
            }
            // A ready project's rows stay live until a run succeeds: remember their rate and
            // count, so a failed run returns the project to `ready` (see `fail_project`).
            tx.execute(
                "INSERT INTO frame_table_last_ready (project_id, target_fps, rows_written) \
                 SELECT project_id, target_fps, rows_written FROM frame_table_project \
                 WHERE project_id = ANY($1) AND status = 'ready' ON CONFLICT (project_id) DO UPDATE SET \
                 target_fps = excluded.target_fps, rows_written = excluded.rows_written",
                &[&projects],
            )
            .map_err(|e| CatalogError::Invalid(message(&e)))?;
            tx.execute(
                "UPDATE frame_table_project SET status = 'populating', target_fps = $2, started_at = now(), \
                 heartbeat_at = now(), finished_at = NULL, error = NULL, rows_written = 0, progress = 0 \
                 WHERE project_id = ANY($1)",
                &[&projects, &fps_real],
            )
            .map_err(|e| CatalogError::Invalid(message(&e)))?;
            tx.commit().map_err(|e| CatalogError::Invalid(message(&e)))
        })();
        match &result {
            Ok(()) => self.held.extend(&locked),
            Err(_) => {
                for id in locked {
                    let _ = self.unlock(id);
                }
            }
        }
        result.map_err(|e| match e {
            CatalogError::Invalid(m) if !m.starts_with(&self.target) => {
                CatalogError::Invalid(format!("{}: {m}", self.target))
            }
            other => other,
        })
    }

    fn fail_side(&self) -> impl Fn(postgres::Error) -> CatalogError + '_ {
        |e| CatalogError::Invalid(format!("{}: {}", self.target, message(&e)))
    }

    /// Hand this session's claim locks to the background worker `child`, one project at a
    /// time: each lock is let go only once the worker's session queues on it, so no moment
    /// exists where a live run's lock is free. A worker that exits (or does not queue within
    /// [`HAND_OVER_WAIT`]) is an error, recorded for the projects not handed over yet.
    pub fn hand_over(&mut self, projects: &[i64], child: &mut std::process::Child) -> Result<(), CatalogError> {
        let result = self.hand_over_each(projects, child);
        if let Err(e) = &result {
            for p in self.held.clone() {
                let _ = self.fail_project(p, &e.to_string());
                let _ = self.unlock(p);
            }
        }
        result
    }

    fn hand_over_each(&mut self, projects: &[i64], child: &mut std::process::Child) -> Result<(), CatalogError> {
        let deadline = Instant::now() + HAND_OVER_WAIT;
        for &p in projects {
            loop {
                let waiting: bool = self
                    .client
                    .query_one(
                        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
                         AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                         AND classid::int8 = $1 AND objid::int8 = ($2::int8 & 4294967295) AND objsubid = 2)",
                        &[&i64::from(LOCK_NS), &i64::from(lock_key(p))],
                    )
                    .map_err(self.fail())?
                    .get(0);
                if waiting {
                    break;
                }
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(CatalogError::Invalid(format!(
                        "the background populator exited ({status}) before taking over project {p}"
                    )));
                }
                if Instant::now() > deadline {
                    return Err(CatalogError::Invalid(format!(
                        "the background populator did not take over project {p} within {} s",
                        HAND_OVER_WAIT.as_secs()
                    )));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            self.unlock(p)?;
        }
        Ok(())
    }

    /// The background worker takes over `project`'s claim: its lock, waiting for the claiming
    /// process to let it go (see [`Self::hand_over`]).
    pub fn take_over(&mut self, project: i64) -> Result<(), CatalogError> {
        let side = self.side()?;
        let locked = side
            .batch_execute(&format!("SET lock_timeout = '{}s'", HAND_OVER_WAIT.as_secs()))
            .and_then(|()| side.execute("SELECT pg_advisory_lock($1, $2)", &[&LOCK_NS, &lock_key(project)]))
            .and_then(|_| side.batch_execute("SET lock_timeout = 0"));
        if let Err(e) = locked {
            return Err(CatalogError::Busy(format!(
                "project {project} is being populated by another process ({})",
                message(&e)
            )));
        }
        self.held.push(project);
        Ok(())
    }

    /// Replace `project`'s rows (it has been claimed, and its lock is held by this session)
    /// and mark it ready in the same transaction. A failure is recorded
    /// ([`Self::fail_project`]) before the lock is let go. Returns the rows written.
    pub fn populate(
        &mut self,
        catalog: &Catalog,
        project: i64,
        rate: Rate,
        mut progress: impl FnMut(i64, f64),
    ) -> Result<i64, CatalogError> {
        if !self.held.contains(&project) {
            self.take_over(project)?;
        }
        let result = self.load(catalog, project, rate, &mut progress);
        if let Err(e) = &result {
            // Best effort: when even a fresh connection cannot record it, the claim reads as
            // lost (its lock is gone with the session) and the error is still returned.
            let _ = self.fail_project(project, &e.to_string());
        }
        let unlocked = self.unlock(project);
        let rows = result?;
        unlocked?;
        Ok(rows)
    }

    fn load(
        &mut self,
        catalog: &Catalog,
        project: i64,
        rate: Rate,
        progress: &mut impl FnMut(i64, f64),
    ) -> Result<i64, CatalogError> {
        let classifications = catalog.classifications(project)?;
        let total_bytes: u64 =
            classifications.iter().map(|c| std::fs::metadata(&c.frames).map_or(0, |m| m.len())).sum();
        let (interval_us, _) = self.chunk_interval()?;
        let target = self.target.clone();
        let fail = |e: postgres::Error| CatalogError::Invalid(format!("{target}: {}", message(&e)));
        let timescale = self.timescale;
        self.side()?;
        let side = self.side.as_mut().ok_or_else(|| CatalogError::Invalid(format!("{target}: no connection")))?;
        let mut tx = self.client.transaction().map_err(fail)?;
        tx.execute("DELETE FROM frame_observation WHERE project_id = $1", &[&project]).map_err(fail)?;
        let mut partitions: Vec<(i64, i64)> = Vec::new();
        let mut rows = 0i64;
        let mut last_beat = Instant::now();
        let (tx_chunks, chunks) = crossbeam_channel::bounded::<Result<Chunk, CatalogError>>(8);
        std::thread::scope(|scope| -> Result<(), CatalogError> {
            let reader = spawn_reader(scope, &classifications, rate, tx_chunks)?;
            let result = (|| {
                let copy = format!("COPY frame_observation ({COPY_COLUMNS}) FROM STDIN BINARY");
                let mut recorded: Option<usize> = None;
                // A chunk whose rows need a partition that does not exist yet ends the COPY;
                // the partition is added in this transaction and a new COPY starts with it.
                let mut pending: Option<Chunk> = None;
                loop {
                    let mut writer = BinaryCopyInWriter::new(tx.copy_in(copy.as_str()).map_err(fail)?, &COPY_TYPES);
                    let mut needs_partition: Option<(Chunk, Vec<i64>)> = None;
                    loop {
                        let chunk = match pending.take() {
                            Some(c) => c,
                            None => match chunks.recv() {
                                Ok(c) => c?,
                                Err(_) => break, // the reader is done
                            },
                        };
                        let c = &classifications[chunk.classification];
                        if c.kind == "video" && recorded != Some(chunk.classification) {
                            catalog.record_video(c.id, &chunk.header)?;
                            recorded = Some(chunk.classification);
                        }
                        if !timescale {
                            let missing: Vec<i64> = chunk
                                .rows
                                .iter()
                                .map(|r| r.frame_time)
                                .filter(|t| !partitions.iter().any(|&(s, e)| s <= *t && *t < e))
                                .collect();
                            if !missing.is_empty() {
                                needs_partition = Some((chunk, missing));
                                break;
                            }
                        }
                        for r in &chunk.rows {
                            write_row(&mut writer, project, c.id, &chunk.header, r).map_err(fail)?;
                        }
                        rows += chunk.n_rows as i64;
                        if last_beat.elapsed() >= HEARTBEAT_EVERY {
                            last_beat = Instant::now();
                            let done = chunk.bytes_before + chunk.bytes_read;
                            let fraction =
                                if total_bytes == 0 { 0.0 } else { (done as f64 / total_bytes as f64).min(1.0) };
                            side.execute(
                                "UPDATE frame_table_project SET heartbeat_at = now(), rows_written = $2, progress = $3 \
                                 WHERE project_id = $1 AND status = 'populating'",
                                &[&project, &rows, &(fraction as f32)],
                            )
                            .map_err(fail)?;
                            progress(rows, fraction);
                        }
                    }
                    writer.finish().map_err(fail)?;
                    match needs_partition {
                        Some((chunk, missing)) => {
                            ensure_partitions(&mut tx, interval_us, &missing, &mut partitions).map_err(fail)?;
                            pending = Some(chunk);
                        }
                        None => return Ok(()),
                    }
                }
            })();
            drop(chunks);
            let _ = reader.join();
            result
        })?;
        tx.execute(
            "UPDATE frame_table_project SET status = 'ready', rows_written = $2, progress = 1, error = NULL, \
             finished_at = now(), heartbeat_at = now() WHERE project_id = $1",
            &[&project, &rows],
        )
        .map_err(fail)?;
        tx.execute("DELETE FROM frame_table_last_ready WHERE project_id = $1", &[&project]).map_err(fail)?;
        tx.commit().map_err(fail)?;
        progress(rows, 1.0);
        Ok(rows)
    }

    /// A failed run (a successful one is marked ready by its commit): `ready` with the rows
    /// that were live when it was claimed, and the error; `failed` with the error when there
    /// were none. Recorded through the lock-holding connection; when that has closed (the
    /// server restarted, the network dropped), through a fresh one — unless another process
    /// has claimed the project since.
    pub fn fail_project(&mut self, project: i64, error: &str) -> Result<(), CatalogError> {
        const RECORD: &str = "UPDATE frame_table_project p SET \
             status = CASE WHEN r.project_id IS NULL THEN 'failed'::frame_table_status ELSE 'ready' END, \
             target_fps = coalesce(r.target_fps, p.target_fps), rows_written = coalesce(r.rows_written, p.rows_written), \
             progress = CASE WHEN r.project_id IS NULL THEN p.progress ELSE 1 END, \
             error = $2, finished_at = now(), heartbeat_at = now() \
             FROM frame_table_project q LEFT JOIN frame_table_last_ready r ON r.project_id = q.project_id \
             WHERE p.project_id = $1 AND q.project_id = $1";
        let recorded = self
            .side()
            .and_then(|side| side.execute(RECORD, &[&project, &error]).map_err(|e| CatalogError::Invalid(message(&e))));
        if recorded.is_ok() {
            return Ok(());
        }
        // The session is gone, and its locks with it.
        self.side = None;
        self.held.clear();
        let side = self.side()?;
        let mut tx = side.transaction().map_err(|e| CatalogError::Invalid(message(&e)))?;
        // A closed session's locks go when its server process has exited: wait a moment for
        // that; a lock still held after it belongs to a process that claimed the project since.
        let free = tx
            .batch_execute("SET LOCAL lock_timeout = '2s'")
            .and_then(|()| tx.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&LOCK_NS, &lock_key(project)]))
            .is_ok();
        if free {
            tx.execute(&format!("{RECORD} AND p.status = 'populating'"), &[&project, &error])
                .map_err(|e| CatalogError::Invalid(message(&e)))?;
        }
        tx.commit().map_err(|e| CatalogError::Invalid(format!("{}: {}", self.target, message(&e))))
    }

    /// The chunk interval in µs and as configured.
    fn chunk_interval(&mut self) -> Result<(i64, String), CatalogError> {
        let config = self.config()?;
        let (secs, text) = parse_interval(&config.chunk_interval).map_err(CatalogError::Invalid)?;
        Ok((secs * 1_000_000, text))
    }

    /// The settings row.
    pub fn config(&mut self) -> Result<TableConfig, CatalogError> {
        let r = self
            .client
            .query_one(
                "SELECT extract(epoch FROM chunk_interval)::bigint, extract(epoch FROM compress_after)::bigint, \
                 array_to_string(compress_segmentby, ','), compress_orderby FROM frame_table_config",
                &[],
            )
            .map_err(self.fail())?;
        Ok(TableConfig {
            chunk_interval: interval_text(r.get(0)),
            compress_after: r.get::<_, Option<i64>>(1).map(interval_text),
            compress_segmentby: r.get(2),
            compress_orderby: r.get(3),
        })
    }

    /// The statements that take the settings where asked: the config row, and on TimescaleDB
    /// the hypertable's own settings.
    pub fn changes(
        &mut self,
        chunk_interval: Option<&str>,
        compress_after: Option<&str>,
        segmentby: Option<&str>,
    ) -> Result<Vec<String>, CatalogError> {
        let current = self.config()?;
        let diff = current.diff(chunk_interval, compress_after, segmentby).map_err(CatalogError::Invalid)?;
        let mut out = Vec::new();
        if let Some(i) = &diff.chunk_interval {
            out.push(format!("UPDATE frame_table_config SET chunk_interval = INTERVAL '{i}'"));
            if self.timescale {
                out.push(format!("SELECT set_chunk_time_interval('frame_observation', INTERVAL '{i}')"));
            }
        }
        if let Some(after) = &diff.compress_after {
            match after {
                Some(a) => out.push(format!("UPDATE frame_table_config SET compress_after = INTERVAL '{a}'")),
                None => out.push("UPDATE frame_table_config SET compress_after = NULL".into()),
            }
            if self.timescale {
                out.push("SELECT remove_compression_policy('frame_observation', if_exists => true)".into());
                if let Some(a) = after {
                    out.push(format!(
                        "SELECT add_compression_policy('frame_observation', compress_after => INTERVAL '{a}')"
                    ));
                }
            }
        }
        if let Some(columns) = &diff.segmentby {
            out.push(format!("UPDATE frame_table_config SET compress_segmentby = '{{{columns}}}'"));
            if self.timescale {
                out.push(format!(
                    "ALTER TABLE frame_observation SET (timescaledb.compress, timescaledb.compress_segmentby = '{columns}', \
                     timescaledb.compress_orderby = 'frame_time')"
                ));
            }
        }
        Ok(out)
    }

    /// Run configuration statements in one transaction.
    pub fn apply(&mut self, statements: &[String]) -> Result<(), CatalogError> {
        let target = self.target.clone();
        let fail = |e: postgres::Error| CatalogError::Invalid(format!("{target}: {}", message(&e)));
        let mut tx = self.client.transaction().map_err(fail)?;
        for s in statements {
            tx.batch_execute(s).map_err(fail)?;
        }
        tx.commit().map_err(fail)
    }

    /// The partitions (native layout) or chunks (TimescaleDB) with their ranges and rows.
    pub fn partitions(&mut self) -> Result<Vec<Partition>, CatalogError> {
        let sql = if self.timescale {
            "SELECT chunk_schema || '.' || chunk_name, (extract(epoch FROM range_start) * 1000000)::bigint, \
             (extract(epoch FROM range_end) * 1000000)::bigint FROM timescaledb_information.chunks \
             WHERE hypertable_name = 'frame_observation' ORDER BY range_start"
        } else {
            PARTITIONS_SQL
        };
        let rows = self.client.query(sql, &[]).map_err(self.fail())?;
        let mut out = Vec::new();
        for r in rows {
            let (Some(start_us), Some(end_us)) = (r.get::<_, Option<i64>>(1), r.get::<_, Option<i64>>(2)) else {
                continue; // a DEFAULT partition
            };
            let name: String = r.get(0);
            let count = format!("SELECT count(*) FROM {name}");
            let rows: i64 = self.client.query_one(count.as_str(), &[]).map_err(self.fail())?.get(0);
            out.push(Partition { name, start_us, end_us, rows });
        }
        Ok(out)
    }

    /// Rows of a project (which the caller has checked is ready), in time order.
    pub fn query(&mut self, q: &ObservationQuery) -> Result<Vec<Observation>, CatalogError> {
        let mut sql = String::from(
            "SELECT classification_id, frame_index, t_us, track_id, label, confidence::float8, bbox_x::float8, \
             bbox_y::float8, bbox_w::float8, bbox_h::float8 FROM frame_observation WHERE project_id = $1",
        );
        let mut params: Vec<Box<dyn ToSql + Sync>> = vec![Box::new(q.project)];
        let mut add = |cond: &str, v: Box<dyn ToSql + Sync>| {
            params.push(v);
            sql.push_str(&cond.replace('?', &format!("${}", params.len())));
        };
        if let Some(c) = q.classification {
            add(" AND classification_id = ?", Box::new(c));
        }
        if let Some(t) = q.from_us {
            add(" AND frame_time >= ?", Box::new(Micros(t)));
        }
        if let Some(t) = q.to_us {
            add(" AND frame_time <= ?", Box::new(Micros(t)));
        }
        if let Some(l) = &q.label {
            add(" AND label = ?", Box::new(l.clone()));
        }
        if let Some([x, y, w, h]) = q.bbox {
            add(" AND bbox_x < ?::float8", Box::new(x + w));
            add(" AND bbox_x + bbox_w > ?::float8", Box::new(x));
            add(" AND bbox_y < ?::float8", Box::new(y + h));
            add(" AND bbox_y + bbox_h > ?::float8", Box::new(y));
        }
        sql.push_str(" ORDER BY frame_time, classification_id, frame_index, obj_index");
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
        let rows = self.client.query(sql.as_str(), &refs).map_err(self.fail())?;
        Ok(rows
            .iter()
            .map(|r| Observation {
                classification: r.get(0),
                frame_index: i64::from(r.get::<_, i32>(1)),
                t_us: r.get(2),
                track_id: r.get(3),
                label: r.get(4),
                confidence: r.get(5),
                bbox: [r.get(6), r.get(7), r.get(8), r.get(9)],
            })
            .collect())
    }

    /// The rows of one classification as frame records (for `rebuild-msgpacks`), in frame
    /// order, with `labels` extended by any label it lacks.
    pub fn frames_of(
        &mut self,
        project: i64,
        classification: i64,
        labels: &mut Vec<String>,
    ) -> Result<Vec<FrameRecord>, CatalogError> {
        let rows = self
            .client
            .query(
                "SELECT frame_index, t_us, track_id, label, confidence, bbox_x, bbox_y, bbox_w, bbox_h, flags, attrs \
                 FROM frame_observation WHERE project_id = $1 AND classification_id = $2 \
                 ORDER BY frame_time, frame_index, obj_index",
                &[&project, &classification],
            )
            .map_err(self.fail())?;
        let mut out: Vec<FrameRecord> = Vec::new();
        for r in rows {
            let c =
                label_index(labels, r.get(3)).map_err(|e| CatalogError::Invalid(format!("{}: {e}", self.target)))?;
            let attrs: Option<serde_json::Value> = r.get(10);
            let object = FrameObject {
                tid: r.get(2),
                c,
                s: r.get(4),
                b: [r.get(5), r.get(6), r.get(7), r.get(8)],
                f: r.get::<_, i16>(9) as u8,
                a: match attrs {
                    Some(serde_json::Value::Object(map)) => Some(map),
                    _ => None,
                },
            };
            let i = r.get::<_, i32>(0) as u32;
            let t_us: i64 = r.get(1);
            push_object(&mut out, i, t_us, object);
        }
        Ok(out)
    }
}

/// Partitions of `frame_observation` with their bounds in Unix µs (NULL for DEFAULT).
const PARTITIONS_SQL: &str = "
SELECT c.relname,
  (extract(epoch FROM (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\)'))[1]::timestamptz) * 1000000)::bigint,
  (extract(epoch FROM (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz) * 1000000)::bigint
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'frame_observation'::regclass
ORDER BY 2";

/// Make partitions for the times `missing` (not covered by `known`), inside the loading
/// transaction `tx`; `known` is refreshed from the server. Creators are serialized by a
/// transaction advisory lock, so two populators never create the same partition.
fn ensure_partitions(
    tx: &mut postgres::Transaction<'_>,
    interval_us: i64,
    missing: &[i64],
    known: &mut Vec<(i64, i64)>,
) -> Result<(), postgres::Error> {
    tx.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&LOCK_NS, &PARTITIONS_KEY])?;
    let read = |tx: &mut postgres::Transaction<'_>| -> Result<Vec<(String, i64, i64)>, postgres::Error> {
        Ok(tx
            .query(PARTITIONS_SQL, &[])?
            .iter()
            .filter_map(|r| Some((r.get::<_, String>(0), r.get::<_, Option<i64>>(1)?, r.get::<_, Option<i64>>(2)?)))
            .collect())
    };
    let existing = read(tx)?;
    *known = existing.iter().map(|&(_, s, e)| (s, e)).collect();
    for &t in missing {
        if known.iter().any(|&(s, e)| s <= t && t < e) {
            continue;
        }
        let (start, end) = partition_range(t, interval_us, known);
        let name = partition_name(start);
        tx.batch_execute(&format!(
            "CREATE TABLE {name} (LIKE frame_observation INCLUDING DEFAULTS INCLUDING CONSTRAINTS); \
             ALTER TABLE frame_observation ATTACH PARTITION {name} FOR VALUES FROM ({}) TO ({})",
            timestamp_literal(start),
            timestamp_literal(end)
        ))?;
        known.push((start, end));
        known.sort_unstable();
    }
    // Lock every partition of the loaded range: taking a lock for the first time in this
    // transaction makes the server read pending catalog changes, so partitions another
    // populator attached since this transaction began are routed to by the next COPY.
    let names: Vec<String> = read(tx)?
        .into_iter()
        .filter(|&(_, s, e)| missing.iter().any(|&t| s <= t && t < e))
        .map(|(n, _, _)| n)
        .collect();
    for n in names {
        tx.batch_execute(&format!("LOCK TABLE {n} IN ROW EXCLUSIVE MODE"))?;
    }
    Ok(())
}

/// One observation row into the COPY.
fn write_row(
    w: &mut BinaryCopyInWriter<'_>,
    project: i64,
    classification: i64,
    header: &super::frames::FramesHeader,
    r: &super::table::Row,
) -> Result<(), postgres::Error> {
    let o = &r.object;
    let attrs = o.a.as_ref().map(|a| serde_json::Value::Object(a.clone()));
    let label = header.labels[usize::from(o.c)].as_str(); // index checked by the reader
    let frame_index = r.frame_index as i32;
    let obj_index = r.obj_index as i16;
    let flags = i16::from(o.f);
    w.write(&[
        &project,
        &classification,
        &header.video_id,
        &Micros(r.frame_time),
        &r.t_us,
        &frame_index,
        &obj_index,
        &o.tid,
        &label,
        &o.s,
        &o.b[0],
        &o.b[1],
        &o.b[2],
        &o.b[3],
        &flags,
        &attrs,
    ])
}

/// Seconds as the interval text `configure` prints ("1 day", "12 hours", "30 days").
fn interval_text(secs: i64) -> String {
    let (n, unit) = match secs {
        s if s % 86_400 == 0 => (s / 86_400, "day"),
        s if s % 3600 == 0 => (s / 3600, "hour"),
        s if s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// A stored `real` rate as text: integers plainly, others to 3 decimals (29.97).
fn format_fps(fps: f64) -> String {
    let rounded = (fps * 1000.0).round() / 1000.0;
    if rounded.fract() == 0.0 { format!("{rounded:.0}") } else { format!("{rounded}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_align_to_the_interval_and_bridge_to_their_neighbours() {
        let day = 86_400_000_000;
        assert_eq!(partition_range(5, day, &[]), (0, day));
        assert_eq!(partition_range(-5, day, &[]), (-day, 0));
        // After 1 day → 7 days: the week slot is clipped by existing day partitions.
        let existing = [(0, day), (day, 2 * day)];
        assert_eq!(partition_range(2 * day + 5, 7 * day, &existing), (2 * day, 7 * day));
        assert_eq!(partition_range(7 * day, 7 * day, &existing), (7 * day, 14 * day));
        // A gap between two partitions is filled exactly.
        let existing = [(0, day), (3 * day, 4 * day)];
        assert_eq!(partition_range(day + 1, 7 * day, &existing), (day, 3 * day));
    }

    #[test]
    fn urls_lose_their_password_in_messages() {
        assert_eq!(redact("postgres://me:secret@db:5432/x"), "postgres://me:***@db:5432/x");
        assert_eq!(redact("postgres://me@db/x"), "postgres://me@db/x");
        assert_eq!(redact("host=/tmp user=me password=x"), "host=/tmp user=me password=***");
    }

    #[test]
    fn intervals_and_rates_print_plainly() {
        assert_eq!(interval_text(86_400), "1 day");
        assert_eq!(interval_text(30 * 86_400), "30 days");
        assert_eq!(interval_text(43_200), "12 hours");
        assert_eq!(format_fps(29.969_999), "29.97");
        assert_eq!(format_fps(15.0), "15");
    }
}
