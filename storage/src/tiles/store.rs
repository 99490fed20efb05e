//! The tile tables: `tile` (one CRC-checked blob per camera, level and index; absent = empty)
//! and `tile_state` (per camera, the watermark: every tile ending by `built_until_s` is built).

use super::bitmap::Tile;
use super::codec;
use super::geometry::TileKey;
use crate::sqlite::{DbError, SqliteFile};
use rusqlite::{OptionalExtension, params};

/// The tile tables as a fresh database gets them (schema version 2).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tile(
    camera INTEGER NOT NULL,
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    blob BLOB NOT NULL,
    PRIMARY KEY(camera, level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tile_state(camera INTEGER PRIMARY KEY, built_until_s INTEGER);
";

/// v1 → v2: the watermark moves from the event tables' `camera_state` to `tile_state`, and
/// blobs get their CRC-32 (a blob that no longer decodes is dropped and its camera rebuilt
/// from the events on the next write).
pub(crate) fn migrate_to_v2(file: &SqliteFile) -> Result<(), DbError> {
    let conn = &file.conn;
    let run = || -> rusqlite::Result<Vec<u32>> {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS tile_state(camera INTEGER PRIMARY KEY, built_until_s INTEGER);
             INSERT OR REPLACE INTO tile_state(camera, built_until_s)
                 SELECT camera, tiles_built_until_s FROM camera_state WHERE tiles_built_until_s IS NOT NULL;",
        )?;
        let rows: Vec<(u32, u8, i64, Vec<u8>)> = {
            let mut stmt = conn.prepare("SELECT camera, level, idx, blob FROM tile")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect::<Result<_, _>>()?
        };
        let mut update = conn.prepare("UPDATE tile SET blob = ?4 WHERE camera = ?1 AND level = ?2 AND idx = ?3")?;
        let mut broken = Vec::new();
        for (camera, level, idx, blob) in rows {
            match codec::decode_tile(&blob) {
                Ok(tile) => {
                    update.execute(params![camera, level, idx, codec::encode_stored(&tile)])?;
                }
                Err(_) => broken.push(camera),
            }
        }
        broken.dedup();
        for camera in &broken {
            conn.execute("DELETE FROM tile WHERE camera = ?1", [camera])?;
            conn.execute("DELETE FROM tile_state WHERE camera = ?1", [camera])?;
        }
        Ok(broken)
    };
    let broken = run().map_err(|e| file.sql_error(e))?;
    if !broken.is_empty() {
        tracing::warn!(
            "{}: {} cameras had undecodable tiles; rebuilt on the next write",
            file.path().display(),
            broken.len()
        );
    }
    Ok(())
}

/// The tile tables of one open database (a cheap view).
#[derive(Clone, Copy)]
pub struct TileStore<'a> {
    file: &'a SqliteFile,
}

impl std::fmt::Debug for TileStore<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TileStore").field("file", &self.file.path()).finish()
    }
}

impl<'a> TileStore<'a> {
    pub fn new(file: &'a SqliteFile) -> Self {
        Self { file }
    }

    pub fn file(&self) -> &'a SqliteFile {
        self.file
    }

    fn sql(&self, e: rusqlite::Error) -> DbError {
        self.file.sql_error(e)
    }

    /// A stored tile; a blob that fails its checksum or decoder is an error naming the tile.
    pub fn load(&self, camera: u32, key: TileKey) -> Result<Option<Tile>, DbError> {
        let blob: Option<Vec<u8>> = self
            .file
            .conn
            .prepare_cached("SELECT blob FROM tile WHERE camera = ?1 AND level = ?2 AND idx = ?3")
            .and_then(|mut s| s.query_row(params![camera, key.level, key.index], |r| r.get(0)).optional())
            .map_err(|e| self.sql(e))?;
        blob.map(|b| {
            codec::decode_stored(&b).map_err(|e| {
                self.file.invalid(format!("tile of camera {camera} level {} index {}: {e}", key.level, key.index))
            })
        })
        .transpose()
    }

    /// Upsert a tile (an empty tile is deleted: absent means empty).
    pub fn store(&self, camera: u32, key: TileKey, tile: &Tile) -> Result<(), DbError> {
        let result = if tile.is_empty() {
            self.file
                .conn
                .prepare_cached("DELETE FROM tile WHERE camera = ?1 AND level = ?2 AND idx = ?3")
                .and_then(|mut s| s.execute(params![camera, key.level, key.index]))
        } else {
            self.file
                .conn
                .prepare_cached(
                    "INSERT INTO tile(camera, level, idx, blob) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(camera, level, idx) DO UPDATE SET blob = excluded.blob",
                )
                .and_then(|mut s| s.execute(params![camera, key.level, key.index, codec::encode_stored(tile)]))
        };
        result.map(|_| ()).map_err(|e| self.sql(e))
    }

    /// OR `tile` into the stored tile.
    pub fn or_into(&self, camera: u32, key: TileKey, tile: &Tile) -> Result<(), DbError> {
        let mut stored = self.load(camera, key)?.unwrap_or_default();
        stored.or_assign(tile);
        self.store(camera, key, &stored)
    }

    /// Indexes of stored tiles of one level in `[lo, hi]`.
    pub fn indexes(&self, camera: u32, level: u8, lo: i64, hi: i64) -> Result<Vec<i64>, DbError> {
        let mut stmt = self
            .file
            .conn
            .prepare_cached("SELECT idx FROM tile WHERE camera = ?1 AND level = ?2 AND idx BETWEEN ?3 AND ?4")
            .map_err(|e| self.sql(e))?;
        let rows = stmt.query_map(params![camera, level, lo, hi], |r| r.get(0)).map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// Every stored tile of a camera as `(level, index, blob)` (tests compare stores with it).
    pub fn all(&self, camera: u32) -> Result<Vec<(u8, i64, Vec<u8>)>, DbError> {
        let mut stmt = self
            .file
            .conn
            .prepare("SELECT level, idx, blob FROM tile WHERE camera = ?1 ORDER BY level, idx")
            .map_err(|e| self.sql(e))?;
        let rows = stmt.query_map([camera], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// Whether a camera has any stored tile.
    pub fn has_any(&self, camera: u32) -> Result<bool, DbError> {
        self.file
            .conn
            .prepare_cached("SELECT 1 FROM tile WHERE camera = ?1 LIMIT 1")
            .and_then(|mut s| s.exists([camera]))
            .map_err(|e| self.sql(e))
    }

    /// Number of stored tiles of a camera.
    pub fn count(&self, camera: u32) -> Result<usize, DbError> {
        self.file
            .conn
            .query_row("SELECT count(*) FROM tile WHERE camera = ?1", [camera], |r| r.get::<_, i64>(0))
            .map(|n| n as usize)
            .map_err(|e| self.sql(e))
    }

    /// Delete every tile of a camera and forget its watermark.
    pub fn clear(&self, camera: u32) -> Result<(), DbError> {
        self.file
            .conn
            .execute("DELETE FROM tile WHERE camera = ?1", [camera])
            .and_then(|_| self.file.conn.execute("DELETE FROM tile_state WHERE camera = ?1", [camera]))
            .map(|_| ())
            .map_err(|e| self.sql(e))
    }

    /// Tiles ending at or before this second are built and persisted (absent = empty).
    pub fn built_until(&self, camera: u32) -> Result<Option<i64>, DbError> {
        self.file
            .conn
            .prepare_cached("SELECT built_until_s FROM tile_state WHERE camera = ?1")
            .and_then(|mut s| s.query_row([camera], |r| r.get(0)).optional())
            .map(Option::flatten)
            .map_err(|e| self.sql(e))
    }

    pub fn set_built_until(&self, camera: u32, until_s: Option<i64>) -> Result<(), DbError> {
        self.file
            .conn
            .prepare_cached(
                "INSERT INTO tile_state(camera, built_until_s) VALUES (?1, ?2)
                 ON CONFLICT(camera) DO UPDATE SET built_until_s = excluded.built_until_s",
            )
            .and_then(|mut s| s.execute(params![camera, until_s]))
            .map(|_| ())
            .map_err(|e| self.sql(e))
    }
}
