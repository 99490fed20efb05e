//! Tiles that change (issue 21, item 4): events an ingest adds to a time the timeline already
//! holds as complete are drawn without reopening — the tile feed notices the commit
//! (`data_version`), names the span the new events cover, and the timeline model asks again
//! for the tiles over it, and only those.

use std::time::{Duration, Instant};
use tessera_engine::timeline::model::{StripArea, TimelineModel};
use tessera_engine::timeline::view::TimeView;
use tessera_render::timeline::{TILE_COLUMNS, TileData, TileStyle};
use tessera_storage::events::NewEvent;
use tessera_storage::{EventDb, UnixMicros};

const AREA: StripArea =
    StripArea { x0: 0.0, y0: 0.0, width: 2048.0, row_height: 6.0, row_pitch: 7.0, header: 14.0, footer: 6.0 };

fn person(first_s: i64) -> NewEvent {
    NewEvent {
        camera: "cam".into(),
        class: "person".into(),
        first_ms: first_s * 1000,
        last_ms: first_s * 1000 + 500,
        confidence: Some(0.9),
        boxes: Vec::new(),
    }
}

/// Whether the model holds level-0 column `second` with its first class's bit set (`None`:
/// the tile is not held).
fn lit(model: &TimelineModel, second: i64) -> Option<bool> {
    let (index, column) = (second.div_euclid(TILE_COLUMNS as i64), second.rem_euclid(TILE_COLUMNS as i64) as usize);
    match model.held(0, 0, index)? {
        TileData::Masks { masks, .. } => Some(masks[column] & 1 == 1),
        _ => Some(false),
    }
}

#[test]
fn an_event_added_to_the_past_is_drawn_and_only_its_tiles_are_fetched_again() {
    let dir = tempfile_dir();
    // Two hours back: tiles there are complete (settled), so only a change makes them refetch.
    let now_s = UnixMicros::now().secs_floor();
    let base = (now_s - 7200).div_euclid(TILE_COLUMNS as i64) * TILE_COLUMNS as i64;
    let next = base + TILE_COLUMNS as i64;
    EventDb::open_write(&dir)
        .expect("db")
        .insert_events(&[person(base + 10), person(next + 10)], now_s)
        .expect("insert");

    let mut model = TimelineModel::start(dir.clone(), vec!["cam".into()], TileStyle::Presence);
    // Two level-0 tiles in view: the one that changes and the one after it.
    let view = TimeView::new(base * 1_000_000, 2 * TILE_COLUMNS as i64 * 1_000_000);
    let frame = |model: &mut TimelineModel| {
        model.poll();
        model.plans(&view, AREA, UnixMicros::now().0, &|_| true);
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    // Until everything asked for has come (the view's tiles, and the coarser ones drawn while
    // they were missing).
    while lit(&model, base + 10) != Some(true) || lit(&model, next + 10) != Some(true) || model.pending() > 0 {
        assert!(Instant::now() < deadline, "the first tiles arrive");
        frame(&mut model);
        model.wait(Duration::from_millis(20));
    }
    assert_eq!(lit(&model, base + 500), Some(false), "nothing at +500 s yet");
    let generation = |model: &TimelineModel, index: i64| match model.held(0, 0, index) {
        Some(TileData::Masks { generation, .. }) => Some(*generation),
        _ => None,
    };
    let untouched = generation(&model, next.div_euclid(TILE_COLUMNS as i64));
    assert!(untouched.is_some(), "the next tile is held with its event");

    // An ingest adds an event at +500 s, in the first tile (complete, held).
    EventDb::open_write(&dir).expect("db").insert_events(&[person(base + 500)], now_s).expect("insert");
    let deadline = Instant::now() + Duration::from_secs(10);
    while lit(&model, base + 500) != Some(true) {
        assert!(Instant::now() < deadline, "the added event is drawn (changes seen: {})", model.outdated);
        frame(&mut model);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(model.outdated >= 1, "the feed said what changed");
    assert_eq!(lit(&model, base + 10), Some(true), "the old event stays");
    // The changed tile was asked again; the one after it (not changed) was not.
    for _ in 0..10 {
        frame(&mut model);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        generation(&model, next.div_euclid(TILE_COLUMNS as i64)),
        untouched,
        "the unchanged tile is not fetched again"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-tiles-change-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}
