//! Review journeys on the real window code (kittest, wgpu on the software renderer): the
//! labeller jumps to the next person event and the frame shows its moment; hovering an event
//! on the timeline names it and a click goes to its start; the 2×2 grid plays four cameras in
//! sync and a click on a camera's strip makes it the active tile; the `?` sheet lists the keys
//! (Escape closes it).

mod common;

use common::{DEMO_END_US, active, app_on, demo_dir, harness, player, settle, wait_until};
use egui::{Pos2, Vec2};
use egui_kittest::kittest::{NodeT, Queryable};
use tessera::ui::review::ExportKind;
use tessera::ui::{ArchiveState, Command, SHORTCUTS};
use tessera_engine::timeline::ticks::Clock;
use tessera_storage::EventDb;

fn playhead(app: &tessera::ui::TesseraApp) -> Option<i64> {
    match &app.archive {
        ArchiveState::Open { timeline, .. } => timeline.playhead_us,
        _ => None,
    }
}

#[test]
fn labeller_jumps_to_the_next_person_event_and_back() {
    let dir = demo_dir("review-next", 1.0);
    let mut h = harness(app_on(dir.clone()), Vec2::new(1200.0, 800.0));
    settle(&mut h);
    // Only people: hide the car class, as a labeller of people would.
    h.state_mut().push(Command::ToggleClass("car".into()));
    let from = DEMO_END_US - 30 * 60 * 1_000_000;
    h.state_mut().push(Command::SeekTo(from));
    h.run_steps(1);
    settle(&mut h);
    let db = EventDb::open_read(&dir).expect("events");
    let person = vec!["person".to_string()];
    let want = db.step_event("cam-1", from / 1000, true, &person).expect("step").expect("a person event ahead");
    let want2 = db.step_event("cam-1", want.first_ms, true, &person).expect("step").expect("and one after it");
    // Sync is on, but one tile shows one camera: the events of cam-1.
    h.key_press(egui::Key::N);
    h.run_steps(1);
    let preroll = 2_000_000;
    let at = want.first_ms * 1000 - preroll;
    wait_until(&mut h, "the jump to the next person event", |app| {
        playhead(app) == Some(at)
            || active(app).is_some_and(|p| p.shown.as_ref().is_some_and(|s| (s.frame.time_us - at).abs() < 250_000))
    });
    settle(&mut h);
    let shown = player(&h).shown.as_ref().map(|s| s.frame.time_us).expect("a picture");
    assert!(
        (at - 250_000..=want.first_ms * 1000).contains(&shown),
        "the frame at the event's pre-roll: {shown} vs {at}"
    );
    // N again goes on to the next one (not back to the same), P comes back.
    h.key_press(egui::Key::N);
    h.run_steps(1);
    let at2 = want2.first_ms * 1000 - preroll;
    wait_until(&mut h, "the second event", |app| playhead(app).is_some_and(|p| (p - at2).abs() < 250_000));
    settle(&mut h);
    h.key_press(egui::Key::P);
    h.run_steps(1);
    wait_until(&mut h, "back to the first event", |app| playhead(app).is_some_and(|p| (p - at).abs() < 250_000));
    // Past the pre-roll the person is on screen: the event's box is drawn over the picture.
    h.state_mut().push(Command::SeekTo(want.first_ms * 1000 + 1_000_000));
    h.run_steps(1);
    settle(&mut h);
    wait_until(&mut h, "the event's box over the picture", |app| {
        active(app).is_some_and(|p| {
            p.event_boxes_for
                .as_ref()
                .is_some_and(|(c, t)| c == "cam-1" && Some(*t) == p.shown.as_ref().map(|s| s.frame.time_us))
                && p.event_boxes.iter().any(|b| b.class == "person")
        })
    });
    h.run_steps(1);
    // The Events tab's class filter narrows its list only: the box stays.
    if let ArchiveState::Open { events, .. } = &mut h.state_mut().archive {
        events.class = Some("car".into());
    }
    h.run_steps(3);
    assert!(player(&h).event_boxes.iter().any(|b| b.class == "person"), "the list's filter keeps boxes");
    // The legend hides the class on the timeline and in the video, and shows it again.
    let has_person = |app: &tessera::ui::TesseraApp| {
        active(app).is_some_and(|p| p.event_boxes_for.is_some() && p.event_boxes.iter().any(|b| b.class == "person"))
    };
    h.state_mut().push(Command::ToggleClass("person".into()));
    h.run_steps(3);
    assert!(!has_person(h.state()), "a hidden class has no boxes over the picture");
    h.state_mut().push(Command::ToggleClass("person".into()));
    wait_until(&mut h, "the person's box again", has_person);
}

#[test]
fn the_events_list_shows_the_view_filtered_and_goes_to_an_event() {
    let dir = demo_dir("review-list", 1.0);
    let mut h = harness(app_on(dir.clone()), Vec2::new(1200.0, 800.0));
    settle(&mut h);
    let (from, to) = (DEMO_END_US - 20 * 60 * 1_000_000, DEMO_END_US - 10 * 60 * 1_000_000);
    h.state_mut().push(Command::SetTimeView(tessera_engine::timeline::TimeView::new(from, to - from)));
    h.run_steps(1);
    settle(&mut h);
    h.get_by_label("Events").click();
    h.run_steps(1);
    let db = EventDb::open_read(&dir).expect("events");
    let view = match &h.state().archive {
        ArchiveState::Open { timeline, .. } => timeline.view,
        other => panic!("{other:?}"),
    };
    let count = |camera: &str, class: Option<&str>| {
        db.list_events(camera, view.start_us / 1000, view.end_us() / 1000)
            .expect("list")
            .iter()
            .filter(|e| class.is_none_or(|c| e.class == c))
            .count()
    };
    let all = count("cam-1", None) + count("cam-2", None);
    let total = |app: &tessera::ui::TesseraApp| match &app.archive {
        ArchiveState::Open { timeline, .. } => timeline.event_list.as_ref().map(|l| l.2),
        _ => None,
    };
    wait_until(&mut h, "the list of the view", |app| total(app) == Some(all));
    assert!(all > 0);
    // Only cars.
    if let ArchiveState::Open { events, .. } = &mut h.state_mut().archive {
        events.class = Some("car".into());
    }
    let cars = count("cam-1", Some("car")) + count("cam-2", Some("car"));
    wait_until(&mut h, "the cars of the view", |app| total(app) == Some(cars));
    h.run_steps(1);
    let first = match &h.state().archive {
        ArchiveState::Open { timeline, .. } => timeline.event_list.as_ref().and_then(|l| l.1.first().cloned()),
        _ => None,
    }
    .expect("a car in view");
    assert_eq!(first.class, "car");
    // Click it: the playhead goes to it (less the pre-roll) on its camera.
    h.get_all_by_label_contains(&format!("{} · car", first.camera)).next().expect("its row").click();
    h.run_steps(1);
    let at = first.first_ms * 1000 - 2_000_000;
    wait_until(&mut h, "the jump", |app| playhead(app) == Some(at));
    assert_eq!(player(&h).player.stream, format!("{}-HD", first.camera));
}

#[test]
fn hovering_an_event_names_it_and_a_click_goes_to_its_start() {
    let dir = demo_dir("review-hover", 1.0);
    let mut h = harness(app_on(dir.clone()), Vec2::new(1200.0, 800.0));
    settle(&mut h);
    let db = EventDb::open_read(&dir).expect("events");
    let events = db.list_events("cam-1", (DEMO_END_US - 1_800_000_000) / 1000, DEMO_END_US / 1000).expect("list");
    let event = events.iter().find(|e| e.last_ms - e.first_ms >= 2000).expect("an event of 2 s or more").clone();
    // A two-minute view around the event: it spans several pixels.
    let mid = (event.first_ms + event.last_ms) / 2 * 1000;
    h.state_mut().push(Command::SetTimeView(tessera_engine::timeline::TimeView::new(mid - 60_000_000, 120_000_000)));
    h.run_steps(1);
    settle(&mut h);
    let (rect, view, strip) = match &h.state().archive {
        ArchiveState::Open { timeline, .. } => (timeline.rect, timeline.view, timeline.layout.strips[0].1),
        other => panic!("{other:?}"),
    };
    // cam-1's strip is the first: its rows start under the camera's name.
    let x = rect.left() + view.x_of(mid) as f32 * rect.width();
    let pointer = Pos2::new(x, strip.top() + 16.0 + 4.0);
    h.event(egui::Event::PointerMoved(pointer));
    h.run_steps(1);
    wait_until(&mut h, "the events under the pointer", |app| match &app.archive {
        ArchiveState::Open { timeline, .. } => {
            timeline.hover.as_ref().is_some_and(|hv| hv.events.iter().any(|e| e.id == event.id))
        }
        _ => false,
    });
    h.run_steps(2);
    assert!(
        h.query_all_by_label_contains(&format!("{} ·", event.class)).count() >= 1,
        "the tooltip names the event's class"
    );
    // Each event's start once; the column's range only when some events are not listed.
    let tooltips: Vec<String> = h
        .query_all_by_label_contains("click: go")
        .filter_map(|n| n.accesskit_node().value().map(|v| v.to_string()))
        .collect();
    let tooltip = tooltips.iter().find(|t| t.contains(&event.class)).expect("the tooltip").clone();
    let hovered = match &h.state().archive {
        ArchiveState::Open { timeline, .. } => timeline.hover.clone().expect("the hover answer"),
        other => panic!("{other:?}"),
    };
    for e in hovered.events.iter().take(6) {
        let start = tessera_engine::timeline::ticks::format_instant(e.first_ms * 1000, Clock::Utc);
        assert_eq!(tooltip.matches(&start).count(), 1, "{start} once in {tooltip:?}");
    }
    assert_eq!(tooltip.contains(" from "), hovered.events.len() > 6, "{tooltip:?}");
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos: pointer,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
    }
    h.run_steps(1);
    let start = events.iter().filter(|e| e.first_ms * 1000 <= mid && e.last_ms * 1000 >= mid).map(|e| e.first_ms).min();
    assert!(playhead(h.state()).is_some_and(|p| Some(p / 1000) <= start.map(|s| s + 1)), "the click went to the start");
}

#[test]
fn a_grid_of_cameras_plays_in_sync_and_a_strip_click_picks_the_active_tile() {
    let dir = demo_dir("review-grid", 1.0);
    let mut h = harness(app_on(dir), Vec2::new(1200.0, 800.0));
    settle(&mut h);
    h.get_by_label("2×2").click();
    h.run_steps(1);
    let at = DEMO_END_US - 20 * 60 * 1_000_000;
    h.state_mut().push(Command::SeekTo(at));
    h.run_steps(1);
    settle(&mut h);
    let times = |app: &tessera::ui::TesseraApp| match &app.archive {
        ArchiveState::Open { grid, .. } => {
            grid.tiles.iter().map(|t| (t.player.stream.clone(), t.shown.as_ref().map(|s| s.frame.time_us))).collect()
        }
        _ => Vec::new(),
    };
    let tiles: Vec<(String, Option<i64>)> = times(h.state());
    assert_eq!(tiles.iter().map(|t| t.0.as_str()).collect::<Vec<_>>(), ["cam-1-HD", "cam-2-HD"], "both cameras");
    assert!(tiles.iter().all(|t| t.1.is_some_and(|s| (s - at).abs() < 250_000)), "the same moment: {tiles:?}");
    // Space plays both; they move on together.
    h.key_press(egui::Key::Space);
    h.run_steps(1);
    wait_until(&mut h, "both to play on", |app| {
        let t = times(app);
        t.len() == 2 && t.iter().all(|(_, s)| s.is_some_and(|s| s > at + 1_000_000))
    });
    h.key_press(egui::Key::Space);
    h.run_steps(1);
    settle(&mut h);
    let t = times(h.state());
    let (a, b) = (t[0].1.expect("a picture"), t[1].1.expect("a picture"));
    assert!((a - b).abs() < 1_000_000, "in sync: {a} vs {b}");
    // A click on cam-2's strip makes its tile the active one.
    let strip = match &h.state().archive {
        ArchiveState::Open { timeline, .. } => {
            timeline.layout.strips.iter().find(|(c, _)| c == "cam-2").expect("cam-2's strip in view").1
        }
        other => panic!("{other:?}"),
    };
    let p = Pos2::new(strip.center().x, strip.bottom() - 6.0);
    h.event(egui::Event::PointerMoved(p));
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos: p,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
    }
    h.run_steps(2);
    assert_eq!(player(&h).player.stream, "cam-2-HD");
    assert!(h.query_all_by_label_contains("· active").count() == 0, "strip names are painted, not widgets");
}

#[test]
fn question_mark_shows_every_shortcut() {
    let mut h = harness(app_on(demo_dir("review-help", 0.2)), Vec2::new(1200.0, 800.0));
    settle(&mut h);
    h.key_press(egui::Key::Questionmark);
    h.run_steps(2);
    assert!(h.query_by_label("Keyboard shortcuts").is_some(), "the sheet is open");
    for (keys, what) in SHORTCUTS {
        assert!(h.query_all_by_label(keys).count() >= 1 && h.query_by_label(what).is_some(), "{keys} is on the sheet");
    }
    // Escape closes it.
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(!h.state().show_help, "Escape closes the sheet");
    assert!(h.query_by_label("Keyboard shortcuts").is_none(), "the sheet is closed");
}

#[test]
fn analyst_zooms_from_a_year_to_a_second_marks_a_range_bookmarks_and_exports_it() {
    let dir = demo_dir("review-export", 1.0);
    let mut h = harness(app_on(dir.clone()), Vec2::new(1200.0, 800.0));
    settle(&mut h);
    // A year down to a second, around a moment with video; every level draws (tiles arrive).
    let t = DEMO_END_US - 15 * 60 * 1_000_000;
    let mut span: i64 = 365 * 86_400 * 1_000_000;
    while span >= 1_000_000 {
        h.state_mut().push(Command::SetTimeView(tessera_engine::timeline::TimeView::new(t - span / 2, span)));
        h.run_steps(1);
        settle(&mut h);
        span /= 8;
    }
    // [ at t, ] ten seconds later: the selection (at the playhead, which follows the pictures).
    h.state_mut().push(Command::SeekTo(t));
    h.run_steps(1);
    settle(&mut h);
    let start = playhead(h.state()).expect("a playhead");
    h.key_press(egui::Key::OpenBracket);
    h.run_steps(1);
    h.state_mut().push(Command::SeekTo(t + 10_000_000));
    h.run_steps(1);
    settle(&mut h);
    let end = playhead(h.state()).expect("a playhead");
    h.key_press(egui::Key::CloseBracket);
    h.run_steps(1);
    let selection = match &h.state().archive {
        ArchiveState::Open { timeline, .. } => timeline.selection,
        _ => None,
    };
    assert_eq!(selection, Some((start, end)));
    assert!((end - start - 10_000_000).abs() < 250_000, "ten seconds: {start} … {end}");
    // Bookmark it from the Bookmarks tab.
    h.get_by_label("Bookmarks").click();
    h.run_steps(1);
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Name").click();
    h.run_steps(1);
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Name").type_text("intruder");
    h.run_steps(1);
    h.get_by_label("Bookmark the selection").click();
    h.run_steps(1);
    wait_until(&mut h, "the bookmark in the list", |app| match &app.archive {
        ArchiveState::Open { bookmarks, .. } => bookmarks.list.iter().any(|b| b.name == "intruder"),
        _ => false,
    });
    let stored = EventDb::open_read(&dir).expect("events").bookmarks().expect("bookmarks");
    assert_eq!(
        stored.iter().map(|b| (b.start_us, b.end_us, b.camera.as_str())).collect::<Vec<_>>(),
        [(start, end, "cam-1")]
    );
    // Export the clip and the frame on screen, as jobs.
    let out = tempfile::tempdir().expect("tempdir");
    let (clip, frame) = (out.path().join("clip.mp4"), out.path().join("frame.png"));
    let timeline_png = out.path().join("timeline.png");
    h.state_mut().push(Command::Export { kind: ExportKind::Clip, out: Some(clip.clone()) });
    h.state_mut().push(Command::Export { kind: ExportKind::Frame, out: Some(frame.clone()) });
    h.state_mut().push(Command::Export { kind: ExportKind::Timeline, out: Some(timeline_png.clone()) });
    h.run_steps(1);
    wait_until(&mut h, "the exports to finish", |app| app.jobs.is_empty());
    h.run_steps(1);
    assert!(
        h.state().toasts.list.iter().any(|t| t.title.starts_with("Exported")
            && t.title.contains(&clip.display().to_string())
            && t.file.as_deref() == Some(clip.as_path())),
        "{:?}",
        h.state().toasts.list
    );
    let bytes = std::fs::read(&clip).expect("the clip");
    assert_eq!(&bytes[4..8], b"ftyp", "an MP4 file");
    assert!(image::open(&frame).expect("the frame").width() > 0);
    // The timeline image: the 2000 px strips with the camera names beside them and the legend
    // and axis above.
    let timeline_image = image::open(&timeline_png).expect("the timeline image");
    assert!(
        timeline_image.width() > 2000 && timeline_image.height() > 92,
        "{}×{}",
        timeline_image.width(),
        timeline_image.height()
    );
}

#[test]
fn settings_are_kept_between_runs() {
    let dir = demo_dir("review-settings", 0.2);
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("tessera/settings.toml");
    let (settings, _) = tessera::ui::settings::load(&path);
    let app = tessera::ui::TesseraApp::with_settings(Some(dir.clone()), settings, Some(path.clone()));
    let mut h = harness(app, Vec2::new(1000.0, 700.0));
    settle(&mut h);
    h.get_by_label("2×2").click();
    h.run_steps(1);
    h.state_mut().push(Command::SetSync(false));
    h.run_steps(1);
    let saved = || tessera::ui::settings::load(&path).0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while saved().grid_side != 2 || saved().sync {
        assert!(std::time::Instant::now() < deadline, "settings were not saved: {:?}", saved());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(saved().recent, std::slice::from_ref(&dir));
    // The next run opens with the same grid and sync.
    let app = tessera::ui::TesseraApp::with_settings(Some(dir), saved(), None);
    let mut h = harness(app, Vec2::new(1000.0, 700.0));
    settle(&mut h);
    h.run_steps(2);
    settle(&mut h);
    match &h.state().archive {
        ArchiveState::Open { grid, .. } => assert_eq!((grid.side, grid.sync, grid.tiles.len()), (2, false, 2)),
        other => panic!("{other:?}"),
    }
}
