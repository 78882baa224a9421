//! The operations files in contrib/ stay valid: the example settings file loads
//! with weir's own loader, and systemd accepts the unit (when systemd-analyze is
//! installed) with its ExecStart pointing at the built binary.

use std::path::Path;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn the_example_settings_file_loads() {
    let path = Path::new(ROOT).join("contrib/weir.properties");
    let settings = weir::config::load_settings(Some(&path), Vec::new(), &[])
        .expect("contrib/weir.properties loads");
    assert_eq!(
        settings.source("log.retention.hours"),
        weir::config::Source::File
    );
    assert_eq!(settings.i64("log.flush.interval.ms"), 1000);
}

#[test]
fn systemd_accepts_the_unit() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIP: systemd-analyze is not installed");
        return;
    }
    let unit = std::fs::read_to_string(Path::new(ROOT).join("contrib/systemd/weir.service"))
        .unwrap()
        .replace("/usr/local/bin/weir", env!("CARGO_BIN_EXE_weir"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weir.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Lines about the host's own units (not ours) are not this test's business.
    let ours: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("weir.service"))
        .collect();
    assert!(out.status.success() && ours.is_empty(), "{text}");
}
