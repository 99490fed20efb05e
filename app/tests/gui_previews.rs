//! Previews on the real window code (kittest, wgpu on the software renderer): the filmstrip
//! under the axis shows, per cell, the keyframe nearest the cell's middle (checked against the
//! archive's keyframe index), and hovering a camera's strip shows the preview of the keyframe
//! nearest the pointer's time in the tooltip once the `previews` thread has answered; dragging
//! the playhead shows the preview at the pointer and seeks where the drag ends.

mod common;

use common::{DEMO_END_US, demo_dir, harness, settle, snapshot_options, wait_until};
use egui::{Pos2, Vec2};
use egui_kittest::kittest::Queryable;
use tessera::ui::{ArchiveState, Command, TesseraApp};
use tessera_engine::previews::nearest_key_unit;
use tessera_engine::timeline::TimeView;
use tessera_storage::fsv::Archive;

const MINUTE: i64 = 60_000_000;

/// The keyframe of `stream` nearest `t_us`, from the archive's index.
fn nearest_keyframe(archive: &Archive, stream: &str, t_us: i64) -> i64 {
    let stream = archive.stream(stream).expect("stream");
    nearest_key_unit(stream, t_us).expect("a keyframe").1.time_us
}

fn timeline(app: &TesseraApp) -> &tessera::ui::timeline_panel::TimelinePanel {
    match &app.archive {
        ArchiveState::Open { timeline, .. } => timeline,
        other => panic!("archive not open: {other:?}"),
    }
}

#[test]
fn the_filmstrip_and_the_hover_tooltip_show_the_nearest_keyframes() {
    let dir = demo_dir("previews", 0.5);
    let mut h = harness(common::app_on(dir.clone()), Vec2::new(1000.0, 760.0));
    settle(&mut h);
    // The last ten minutes: the cells are ~20 s of video each.
    h.state_mut().push(Command::SetTimeView(TimeView::new(DEMO_END_US - 10 * MINUTE, 10 * MINUTE)));
    h.run_steps(1);
    settle(&mut h);
    let archive = Archive::open(&dir).expect("archive");

    // The filmstrip: the active stream's previews, each the keyframe nearest its cell's middle
    // (or a stored preview inside the cell: the thread's tolerance is half a cell).
    let t = timeline(h.state());
    let stream = t.film_stream.clone().expect("an active stream");
    let cells = t.filmstrip();
    assert!(cells.len() >= 3, "a cell per ~120–170 points: {cells:?}");
    let shown: Vec<_> = cells.iter().filter_map(|c| Some((c, c.shown_us?))).collect();
    assert!(shown.len() * 10 >= cells.len() * 9, "the cells are filled: {cells:?}");
    for (cell, key) in shown {
        let nearest = nearest_keyframe(&archive, &stream, cell.t_us);
        let half = (cell.to_us - cell.from_us) / 2;
        assert!(
            key == nearest
                || (key.abs_diff(cell.t_us) <= half as u64 && key == nearest_keyframe(&archive, &stream, key)),
            "cell {cell:?} shows the keyframe at {key}, the nearest is {nearest}"
        );
    }
    let layout = &t.layout;
    assert!(layout.filmstrip.is_positive(), "the lane is laid out");
    assert!(layout.filmstrip.top() >= layout.ticks.bottom() - 0.5, "under the axis");
    assert!(layout.strips.iter().all(|(_, r)| r.top() >= layout.filmstrip.bottom() - 0.5), "above the strips");

    // Hover the second camera's strip (not the active one): its first stream's preview at the
    // pointer's time, with "loading…" until the thread answers.
    let (camera, strip) =
        layout.strips.iter().find(|(c, _)| Some(c) != t.active_camera.as_ref()).cloned().expect("strip");
    let hover_stream = t.camera_streams.get(&camera).cloned().expect("the camera's stream");
    let (rect, view) = (t.rect, t.view);
    let pointer = Pos2::new(rect.left() + rect.width() * 0.37, strip.center().y);
    let at = view.time_at(f64::from((pointer.x - rect.left()) / rect.width()));
    h.hover_at(pointer);
    h.run_steps(1);
    wait_until(&mut h, "the hover preview", |app| timeline(app).hover_preview().is_some());
    let key = timeline(h.state()).hover_preview().expect("a preview");
    let nearest = nearest_keyframe(&archive, &hover_stream, at);
    let px_us = (view.span_us as f64 / f64::from(rect.width())) as i64;
    assert!(
        key == nearest || key.abs_diff(at) <= 4 * px_us as u64,
        "hover at {at} shows the keyframe at {key}, the nearest is {nearest}"
    );
    settle(&mut h);
    h.run_steps(2);
    h.snapshot_options("previews_filmstrip_hover", &snapshot_options());

    // Dragging the playhead: the active stream's preview follows the pointer at once, the
    // view does not pan, and the playhead lands where the drag ends.
    let t0 = view.time_at(0.3);
    h.state_mut().push(Command::SeekTo(t0));
    h.run_steps(1);
    settle(&mut h);
    let (rect, view) = (timeline(h.state()).rect, timeline(h.state()).view);
    let x_of = |t: i64| rect.left() + view.x_of(t) as f32 * rect.width();
    let y = strip.center().y;
    h.drag_at(Pos2::new(x_of(t0), y));
    h.run_steps(1);
    let to = Pos2::new(rect.left() + rect.width() * 0.6, y);
    h.hover_at(to);
    h.run_steps(1);
    let t1 = view.time_at(f64::from((to.x - rect.left()) / rect.width()));
    wait_until(&mut h, "the playhead drag's preview", |app| timeline(app).hover_preview().is_some());
    let key = timeline(h.state()).hover_preview().expect("a preview");
    let nearest = nearest_keyframe(&archive, &stream, t1);
    assert!(key == nearest || key.abs_diff(t1) <= 4 * px_us as u64, "dragged to {t1}: the keyframe at {key}");
    h.drop_at(to);
    h.run_steps(2);
    let t = timeline(h.state());
    assert_eq!(t.view, view, "a playhead drag does not pan");
    let landed = t.playhead_us.expect("a playhead");
    assert!(landed.abs_diff(t1) <= px_us as u64, "the playhead lands at the drop: {landed} vs {t1}");

    // Hours before the video (events only): the hover shows no picture from another time.
    h.state_mut().push(Command::SetTimeView(TimeView::new(DEMO_END_US - 300 * MINUTE, 10 * MINUTE)));
    h.run_steps(1);
    settle(&mut h);
    let (rect, strip) = (timeline(h.state()).rect, timeline(h.state()).layout.strips[0].1);
    h.hover_at(Pos2::new(rect.left() + rect.width() * 0.5, strip.center().y));
    for _ in 0..10 {
        h.run_steps(1);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(timeline(h.state()).hover_preview(), None, "no preview where nothing was recorded");
    }
    assert!(h.query_by_label("no video recorded here").is_some(), "the tooltip says so");
}
