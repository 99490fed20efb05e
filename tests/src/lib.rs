//! Helpers for end-to-end tests: run the built `tessera` binary and make fixtures.
//!
//! `cargo test --workspace` builds every package before running any test, and the `tessera`
//! package has integration tests of its own, so `target/<profile>/tessera` exists by then.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Path of the built `tessera` binary (beside this test executable's `deps/` directory), or
/// `$TESSERA_BIN` when set (worktrees sharing one target directory test their own build).
pub fn tessera_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("TESSERA_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let bin = profile_dir.join("tessera");
    assert!(bin.exists(), "{} not built: run `cargo test --workspace`", bin.display());
    bin
}

/// Result of one CLI run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
    /// Assert failure with a single-line error that mentions `needle`.
    pub fn assert_clean_error(&self, needle: &str) {
        assert_ne!(self.code, 0, "expected failure: {self:?}");
        assert!(!self.stderr.contains("panicked"), "panic: {}", self.stderr);
        let lines: Vec<&str> = self.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "expected one error line, got: {}", self.stderr);
        assert!(lines[0].contains(needle), "error {:?} does not mention {needle:?}", lines[0]);
    }
}

/// Run `tessera args…`.
pub fn tessera(args: &[&str]) -> Run {
    let Output { status, stdout, stderr } =
        Command::new(tessera_bin()).args(args).env("TESSERA_LOG", "error").output().unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Run the `ffmpeg` CLI (installed by `scripts/setup.sh`) quietly, overwriting outputs;
/// panics unless it succeeds.
pub fn ffmpeg(args: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .status()
        .expect("ffmpeg is installed by scripts/setup.sh");
    assert!(status.success(), "ffmpeg {args:?}");
}

/// Every file (not directory) under `dir`.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A fresh database on the test server (`TESSERA_TEST_DATABASE_URL`), dropped at the end;
/// `None` (the PostgreSQL part skipped) only when no server is configured and
/// `TESSERA_REQUIRE_POSTGRES` is unset.
pub struct TestDb {
    pub admin: String,
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub fn new() -> Option<TestDb> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let Ok(admin) = std::env::var("TESSERA_TEST_DATABASE_URL") else {
            assert!(
                std::env::var_os("TESSERA_REQUIRE_POSTGRES").is_none(),
                "TESSERA_TEST_DATABASE_URL is not set (scripts/test.sh starts a server)"
            );
            eprintln!("skipped the PostgreSQL part: no TESSERA_TEST_DATABASE_URL (scripts/test.sh starts a server)");
            return None;
        };
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("tessera_t{}_{n}", std::process::id());
        let mut client = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
        client.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        Some(TestDb { admin, name, url })
    }

    /// A connection to this database.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}
