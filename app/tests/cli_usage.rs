//! Usage errors exit with code 2; `--help` works. (Also makes cargo build the binary for the
//! workspace's end-to-end tests.)

use std::process::Command;

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tessera")).args(args).output().expect("run tessera");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn help_and_usage_errors() {
    assert_eq!(run(&["--help"]).0, 0);
    assert_eq!(run(&["rf1"]).0, 2);
    assert_eq!(run(&["archive", "ls"]).0, 2);
    let (code, err) = run(&[
        "import",
        "h264",
        "--archive",
        "/tmp/x",
        "--stream",
        "s",
        "--start",
        "yesterday",
        "--fps",
        "25",
        "f.h264",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--start") && err.contains("yesterday"), "{err}");
}
