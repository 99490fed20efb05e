//! The tile rules against a brute-force model: every level, pinned clocks, persisted vs
//! synthesized, incremental vs rebuilt, O(levels) synthesis, and cyclops recordings.

use crate::EventDb;
use crate::events::NewEvent;
use crate::tiles::upkeep::{self, SETTLE_EVENT_ROWS_S};
use crate::tiles::{L_MAX, Tile, TileKey, codec};
use proptest::prelude::*;

const BASE_S: i64 = 1_700_000_000 - 1_700_000_000 % (1024 << 12);

fn ev(camera: &str, class: &str, first_s: i64, len_s: i64) -> NewEvent {
    NewEvent {
        camera: camera.into(),
        class: class.into(),
        first_ms: first_s * 1000 + 250,
        last_ms: (first_s + len_s) * 1000 + 999,
        confidence: None,
        boxes: vec![],
    }
}

/// Brute force: bit b of class c is set iff some event of c covers a second < now in bit b.
fn model(events: &[NewEvent], camera: &str, key: TileKey, now_s: i64) -> Named {
    let mut classes: Vec<String> = events.iter().filter(|e| e.camera == camera).map(|e| e.class.clone()).collect();
    classes.sort();
    classes.dedup();
    let mut out = Vec::new();
    for class in classes {
        let mut bits = vec![false; 1024];
        for e in events.iter().filter(|e| e.camera == camera && e.class == class) {
            let (f, l) = (e.first_ms.div_euclid(1000), e.last_ms.div_euclid(1000).min(now_s - 1));
            for (b, bit) in bits.iter_mut().enumerate() {
                let lo = key.start_s() + (b as i64) * key.seconds_per_bit();
                let hi = lo + key.seconds_per_bit() - 1;
                if f <= hi && l >= lo && f <= l {
                    *bit = true;
                }
            }
        }
        let mut t = Tile::new();
        for (b, on) in bits.iter().enumerate() {
            if *on {
                t.set_bits(0, b, b);
            }
        }
        let runs = t.runs(0);
        if !runs.is_empty() {
            out.push((class, runs));
        }
    }
    out
}

fn cam_id(db: &EventDb, camera: &str) -> Option<u32> {
    db.string_id(camera).expect("string id")
}

/// A tile as (class name, runs) pairs, sorted.
type Named = Vec<(String, Vec<(u32, u32)>)>;

fn named(db: &EventDb, tile: &Tile) -> Named {
    let mut out: Vec<_> = tile.rows().iter().map(|(c, _)| (db.string(*c).unwrap_or_default(), tile.runs(*c))).collect();
    out.sort();
    out
}

fn arb_events() -> impl Strategy<Value = Vec<NewEvent>> {
    prop::collection::vec(
        (0usize..2, 0usize..3, 0i64..(3 * 86_400), prop_oneof![0i64..5, 0i64..300, 0i64..20_000]),
        1..40,
    )
    .prop_map(|v| {
        v.into_iter()
            .map(|(c, k, t, len)| ev(["cam-1", "cam-2"][c], ["person", "car", "truck"][k], BASE_S + t, len))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).map(|c: u32| c / 8).unwrap_or(48), ..ProptestConfig::default() })]

    /// Ingested in batches at an advancing clock, then asked at any level with any `now`:
    /// always the brute-force answer, whether the tile came from the store or was synthesized.
    #[test]
    fn tiles_equal_brute_force_at_every_level(events in arb_events(), split in 0usize..40, probe in 0i64..(4 * 86_400), ask_now in 0i64..(5 * 86_400)) {
        let db = EventDb::open_in_memory().expect("db");
        let split = split.min(events.len());
        db.insert_events(&events[..split], BASE_S + 86_400).expect("ingest 1");
        db.insert_events(&events[split..], BASE_S + 4 * 86_400).expect("ingest 2");
        let svc = db.tile_service();
        for level in 0..=L_MAX {
            let key = TileKey::containing(level, BASE_S + probe);
            for now in [BASE_S + ask_now, i64::MAX / 4] {
                let (tile, _) = svc.get(cam_id(&db, "cam-1"), key, now).expect("get");
                prop_assert_eq!(named(&db, &tile), model(&events, "cam-1", key, now), "level {} now {}", level, now);
            }
        }
    }

    /// Incremental building (several ingests) equals a full rebuild, tile blob for tile blob.
    #[test]
    fn incremental_equals_rebuild(events in arb_events(), cuts in prop::collection::vec(0usize..40, 3)) {
        let now_final = BASE_S + 5 * 86_400;
        let a = EventDb::open_in_memory().expect("db");
        let mut cuts = cuts;
        cuts.push(events.len());
        cuts.sort();
        let mut prev = 0;
        for (i, &c) in cuts.iter().enumerate() {
            let c = c.min(events.len());
            a.insert_events(&events[prev..c.max(prev)], BASE_S + (i as i64) * 86_400).expect("ingest");
            prev = c.max(prev);
        }
        a.insert_events(&[], now_final).expect("advance");
        let b = EventDb::open_in_memory().expect("db");
        b.insert_events(&events, BASE_S).expect("ingest all");
        for cam in ["cam-1", "cam-2"] {
            let (Some(ia), Some(ib)) = (a.string_id(cam).expect("id"), b.string_id(cam).expect("id")) else { continue };
            upkeep::rebuild(&b.tiles(), &b.events(), ib, now_final).expect("rebuild");
            a.advance_tiles(ia, now_final - SETTLE_EVENT_ROWS_S).expect("advance");
            let decode = |db: &EventDb, id| -> Vec<(u8, i64, Named)> {
                db.tiles().all(id).expect("tiles").into_iter().map(|(l, i, blob)| (l, i, named(db, &codec::decode_stored(&blob).expect("blob")))).collect()
            };
            prop_assert_eq!(decode(&a, ia), decode(&b, ib));
        }
    }
}

#[test]
fn request_at_now_costs_o_levels() {
    let db = EventDb::open_in_memory().expect("db");
    let now = BASE_S + 400 * 86_400;
    let events: Vec<NewEvent> = (0..2000).map(|i| ev("cam-1", "person", BASE_S + i * 17_000, 30)).collect();
    db.insert_events(&events, now).expect("ingest");
    let svc = db.tile_service();
    for level in 0..=L_MAX {
        let key = TileKey::containing(level, now - 1);
        let (_, stats) = svc.get(cam_id(&db, "cam-1"), key, now).expect("get");
        assert!(stats.merges <= u32::from(level), "level {level}: {stats:?}");
        assert!(stats.loads <= 2 * u32::from(level) + 1, "level {level}: {stats:?}");
        assert!(stats.rasterized <= 2, "level {level}: {stats:?}");
    }
}

#[test]
fn future_bits_are_never_set_and_settled_tiles_are_persisted() {
    let db = EventDb::open_in_memory().expect("db");
    let t = BASE_S + 100_000;
    db.insert_events(&[ev("cam-1", "person", t, 100)], t + 50).expect("ingest");
    let svc = db.tile_service();
    let key = TileKey::containing(0, t);
    let (tile, _) = svc.get(cam_id(&db, "cam-1"), key, t + 50).expect("get");
    let person = db.string_id("person").expect("id").unwrap_or_default();
    let b = key.bit_of(t) as u32;
    assert_eq!(tile.runs(person), vec![(b, b + 49)]);
    // Nothing is persisted for a tile that reaches into the future.
    let cam = db.string_id("cam-1").expect("id").unwrap_or_default();
    assert!(db.tiles().load(cam, key).expect("load").is_none());
    // Requests never write: the settled tile is persisted by the next ingest.
    db.insert_events(&[ev("cam-2", "car", t, 1)], t + 86_400).expect("a later ingest");
    assert!(db.tiles().load(cam, key).expect("load").is_some());
}

/// An empty cyclops videodb (its schema) with classes 1 = person, 2 = car.
fn cyclops_db(dir: &std::path::Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(dir.join("videos.sqlite")).expect("db");
    conn.execute_batch(
        "CREATE TABLE event(id INTEGER PRIMARY KEY, camera INT NOT NULL, time INT NOT NULL, duration INT NOT NULL, detections TEXT);
         CREATE INDEX idx_event_camera_time ON event(camera, time);
         CREATE TABLE strings(id INTEGER PRIMARY KEY, value TEXT NOT NULL);
         CREATE UNIQUE INDEX idx_strings_value ON strings(value);
         CREATE TABLE event_tile(camera INT NOT NULL, level INT NOT NULL, start INT NOT NULL, tile BLOB, PRIMARY KEY(camera, level, start));
         CREATE TABLE kv(key TEXT PRIMARY KEY, value TEXT);
         INSERT INTO strings(id, value) VALUES (1, 'person'), (2, 'car');",
    )
    .expect("schema");
    conn
}

/// A recording with more events than one mirror batch holds: every one arrives (batches
/// resume after the last committed id), and a later event arrives on reopening, once.
#[test]
fn cyclops_events_mirror_in_bounded_batches() {
    use crate::db::cyclops::MIRROR_BATCH_EVENTS;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut conn = cyclops_db(dir.path());
    let detections = r#"{"objects":[{"id":1,"class":1,"positions":[{"box":[1,2,3,4],"time":0,"confidence":0.5}]}]}"#;
    let total = 2 * MIRROR_BATCH_EVENTS + 3;
    let tx = conn.transaction().expect("tx");
    for id in 1..=total {
        tx.execute(
            "INSERT INTO event(id, camera, time, duration, detections) VALUES (?1, 1, ?2, 0, ?3)",
            rusqlite::params![id, (BASE_S + id) * 1000, detections],
        )
        .expect("event");
    }
    tx.commit().expect("commit");
    let db = EventDb::open_read(dir.path()).expect("open");
    let all = db.list_events("cam-1", 0, i64::MAX / 4).expect("list");
    assert_eq!(all.len() as i64, total);
    drop(db);
    conn.execute(
        "INSERT INTO event(id, camera, time, duration, detections) VALUES (?1, 1, ?2, 0, ?3)",
        rusqlite::params![total + 1, (BASE_S + total + 1) * 1000, detections],
    )
    .expect("event");
    let db = EventDb::open_read(dir.path()).expect("reopen");
    assert_eq!(db.list_events("cam-1", 0, i64::MAX / 4).expect("list").len() as i64, total + 1);
}

#[test]
fn cyclops_recording_events_and_tiles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conn = cyclops_db(dir.path());
    let t_ms = (BASE_S + 5000) * 1000;
    let detections = r#"{"resolution":[320,240],"objects":[{"id":7,"class":1,"numDetections":3,"positions":[{"box":[1,2,3,4],"time":0,"confidence":0.8},{"box":[5,6,7,8],"time":9000,"confidence":0.9}]},{"id":8,"class":2,"numDetections":1,"positions":[{"box":[1,1,2,2],"time":2000,"confidence":0.5}]}]}"#;
    conn.execute(
        "INSERT INTO event(id, camera, time, duration, detections) VALUES (1, 3, ?1, 9000, ?2)",
        rusqlite::params![t_ms, detections.as_bytes()],
    )
    .expect("event");
    // A settled cyclops tile with a bit the events do not have (cyclops' own live clamping).
    let key = TileKey::containing(0, BASE_S + 20_000);
    let mut extra = Tile::new();
    extra.set_bits(2, 100, 101);
    conn.execute(
        "INSERT INTO event_tile(camera, level, start, tile) VALUES (3, 0, ?1, ?2)",
        rusqlite::params![key.index, codec::encode_tile(&extra)],
    )
    .expect("tile");
    drop(conn);

    let db = EventDb::open_read(dir.path()).expect("open");
    let events = db.list_events("cam-3", t_ms, t_ms + 60_000).expect("list");
    assert_eq!(
        events.iter().map(|e| (e.class.as_str(), e.first_ms, e.last_ms)).collect::<Vec<_>>(),
        vec![("person", t_ms, t_ms + 9000), ("car", t_ms + 2000, t_ms + 2000)]
    );
    let svc = db.tile_service();
    let (tile, _) = svc.get(cam_id(&db, "cam-3"), TileKey::containing(0, BASE_S + 5000), i64::MAX / 4).expect("get");
    let b = TileKey::containing(0, BASE_S + 5000).bit_of(BASE_S + 5000) as u32;
    assert_eq!(named(&db, &tile), vec![("car".into(), vec![(b + 2, b + 2)]), ("person".into(), vec![(b, b + 9)])]);
    let (tile, _) = svc.get(cam_id(&db, "cam-3"), key, i64::MAX / 4).expect("get");
    assert_eq!(named(&db, &tile), vec![("car".into(), vec![(100, 101)])]);
    // Reopening does not duplicate the mirrored events.
    drop(db);
    let db = EventDb::open_read(dir.path()).expect("reopen");
    assert_eq!(db.list_events("cam-3", 0, i64::MAX / 4).expect("list").len(), 2);
}

/// Every persisted tile equals the same tile synthesized from scratch (nothing persisted:
/// level 0 rasterised from rows, every level above merged).
#[test]
fn persisted_and_synthesized_tiles_agree() {
    let events: Vec<NewEvent> = (0..300)
        .map(|i| {
            ev(
                ["cam-1", "cam-2"][i % 2],
                ["person", "car", "truck"][i % 3],
                BASE_S + (i as i64 * 7919) % (3 * 86_400),
                [0, 3, 90, 4000][i % 4],
            )
        })
        .collect();
    let later = BASE_S + 30 * 86_400;
    let persisted = EventDb::open_in_memory().expect("db");
    persisted.insert_events(&events, later).expect("ingest");
    let fresh = EventDb::open_in_memory().expect("db");
    fresh.insert_events(&events, BASE_S - 86_400).expect("ingest before the events: nothing settles");
    let svc = fresh.tile_service();
    let cam = persisted.string_id("cam-1").expect("id").expect("camera");
    let stored = persisted.tiles().all(cam).expect("tiles");
    assert!(stored.len() > 50, "{} tiles", stored.len());
    for (level, index, blob) in stored {
        let key = TileKey { level, index };
        let (synthesized, _) = svc.get(cam_id(&fresh, "cam-1"), key, later).expect("get");
        let from_store = codec::decode_stored(&blob).expect("blob");
        assert_eq!(named(&persisted, &from_store), named(&fresh, &synthesized), "level {level} index {index}");
    }
}
