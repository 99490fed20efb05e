//! The real binary's window on a virtual X display (Xvfb, installed by `scripts/setup.sh`):
//! it starts on a demo archive, draws the window (grabbed with FFmpeg's x11grab), and
//! stays up until it is closed. Without Xvfb the test says so and passes only when
//! `TESSERA_REQUIRE_XVFB` is unset (CI sets it).

#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tessera_tests::{tessera, tessera_bin};

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_window_starts_under_xvfb_and_draws() {
    if Command::new("Xvfb").arg("-help").stderr(Stdio::null()).stdout(Stdio::null()).status().is_err() {
        assert!(std::env::var_os("TESSERA_REQUIRE_XVFB").is_none(), "Xvfb is required (scripts/setup.sh)");
        eprintln!("skipped: no Xvfb");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    let d = demo.to_str().unwrap();
    let run = tessera(&["demo", "--dir", d, "--hours", "0.05", "--cameras", "2", "--no-gui", "--no-labels"]);
    assert_eq!(run.code, 0, "{run:?}");
    // A display number of our own (the process id keeps parallel runs apart).
    let display = format!(":{}", 90 + std::process::id() % 500);
    let _xvfb = Killed(
        Command::new("Xvfb")
            .args([display.as_str(), "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(500));
    let config = tmp.path().join("config");
    let mut app = Killed(
        Command::new(tessera_bin())
            .arg(d)
            .env("DISPLAY", &display)
            .env_remove("WAYLAND_DISPLAY")
            .env("XDG_CONFIG_HOME", &config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Grab the screen until the window has drawn (many colours), for up to 40 s.
    let shot = tmp.path().join("shot.png");
    let deadline = Instant::now() + Duration::from_secs(40);
    let colours = loop {
        std::thread::sleep(Duration::from_secs(2));
        assert!(app.0.try_wait().unwrap().is_none(), "the window closed on its own");
        let grabbed = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "x11grab", "-video_size", "1280x800", "-i", &display])
            .args(["-frames:v", "1", shot.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(grabbed.success(), "ffmpeg could not grab {display}");
        let img = image::open(&shot).unwrap().to_rgb8();
        let colours: std::collections::HashSet<[u8; 3]> = img.pixels().map(|p| p.0).collect();
        if colours.len() > 200 || Instant::now() > deadline {
            break colours.len();
        }
    };
    assert!(colours > 200, "the screen shows {colours} colours: no window drew");
    assert!(app.0.try_wait().unwrap().is_none(), "still running");
    // The settings went where XDG_CONFIG_HOME says (the archive is the recent one).
    let settings = std::fs::read_to_string(config.join("tessera/settings.toml")).unwrap();
    assert!(settings.contains("demo"), "{settings}");
}
