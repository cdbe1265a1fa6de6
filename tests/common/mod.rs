//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

pub mod training;

/// The shared real data sets (`$CONAL_DATA_DIR`, else `../shared/data`), or `None` with a
/// message when they are absent. When `CONAL_REQUIRE_DATA` is set (CI), absence is a failure.
pub fn shared_data(sub: &str) -> Option<PathBuf> {
    let dir = conal::data::shared_data_dir().join(sub);
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var_os("CONAL_REQUIRE_DATA").is_some() {
        panic!(
            "{} not found, and CONAL_REQUIRE_DATA is set: point CONAL_DATA_DIR at the data",
            dir.display()
        );
    }
    eprintln!(
        "SKIPPED: {} not found (set CONAL_DATA_DIR to the shared data folder to run this test)",
        dir.display()
    );
    None
}

/// The `conal` binary built for these tests.
pub fn conal() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_conal"));
    cmd.arg("--progress").arg("none");
    cmd
}

/// Runs a command, returning (success, stdout, stderr).
pub fn output(cmd: &mut std::process::Command) -> (bool, String, String) {
    let out = cmd.output().expect("running conal");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
