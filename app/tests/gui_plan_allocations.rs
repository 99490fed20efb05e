//! The timeline panel's per-frame planning path — `TimelineModel::poll` then
//! `TimelineModel::plans`, the very calls the GUI panel and `tessera bench timeline` make —
//! allocates nothing once the tiles a view needs are at hand. Counted by the binary's
//! counting allocator, installed here as this test's global allocator.

use std::time::Duration;
use tessera::alloc_count::{Counting, allocations};
use tessera::demo::{DemoArgs, write_demo};
use tessera_engine::timeline::{StripArea, TimeView, TimelineModel};

#[global_allocator]
static COUNTING: Counting = Counting;

const END_US: i64 = 1_793_534_400_000_000;

#[test]
fn steady_state_planning_allocates_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let args = DemoArgs {
        dir: None,
        hours: 0.1,
        cameras: 2,
        end: Some(tessera_storage::UnixMicros(END_US)),
        event_days: 2.0,
        no_gui: true,
        no_sky: true,
        no_labels: true,
    };
    write_demo(tmp.path(), &args).expect("demo");
    let cameras = vec!["cam-1".to_owned(), "cam-2".to_owned()];
    let mut model = TimelineModel::start(tmp.path().to_owned(), cameras, tessera_render::timeline::TileStyle::Coverage);
    while model.cameras.is_empty() {
        assert!(model.wait(Duration::from_secs(10)), "the feed describes the cameras");
    }
    // The panel's layout at 1000 points and its legend filter (one class hidden).
    let area =
        StripArea { x0: 0.0, y0: 18.0, width: 1000.0, row_height: 7.0, row_pitch: 9.0, header: 16.0, footer: 13.0 };
    let hidden: std::collections::BTreeSet<String> = ["person".to_owned()].into();
    let shown = |r: &tessera_engine::timeline::plan::Row| !hidden.contains(&r.class);
    // Every tile complete (now is well after the data), so nothing is refetched.
    let now_us = END_US + 30 * 86_400_000_000;
    for span_us in [2 * 86_400_000_000, 3_600_000_000, 60_000_000, 5_000_000] {
        let view = TimeView::new(END_US - span_us * 3 / 4, span_us);
        // Warm up: plan until every tile this view needs has arrived.
        for _ in 0..1000 {
            model.poll();
            model.plans(&view, area, now_us, &shown);
            if model.missing_last_frame == 0 && model.pending() == 0 {
                break;
            }
            model.wait(Duration::from_millis(200));
        }
        assert_eq!((model.missing_last_frame, model.pending()), (0, 0), "tiles for {span_us} µs arrived");
        for _ in 0..20 {
            let before = allocations();
            model.poll();
            let strips = model.plans(&view, area, now_us, &shown).len();
            let made = allocations() - before;
            assert_eq!(strips, 2);
            assert_eq!(made, 0, "a steady frame at a {span_us} µs span allocated");
        }
    }
    assert!(allocations() > 0, "the counting allocator is installed");
    assert!(model.errors.is_empty(), "{:?}", model.errors);
}
