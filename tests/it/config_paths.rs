//! Relative file paths in a config follow the config file, not the working directory
//! (systemd starts doorman in `/`), and a file that cannot be read is named by its key and
//! the absolute path that was tried. Regression tests for issue 17.

use std::path::Path;
use std::process::Output;

use crate::support::process::{doorman, keygen, temp_dir};

/// A config in `dir` whose key source is `jwks_file = "<jwks>"`.
fn write_config(dir: &Path, jwks: &str) -> std::path::PathBuf {
    let file = dir.join("config.toml");
    std::fs::write(
        &file,
        format!(
            r#"
[clerk]
issuer = "https://clerk.test.example"
jwks_file = "{jwks}"
authorized_parties = ["https://app.test.example"]
[[upstreams]]
name = "app"
url = "http://127.0.0.1:3000"
[[routes]]
name = "sign-in"
path = "/sign-in/**"
access = "public"
"#
        ),
    )
    .unwrap();
    file
}

/// Generates a key in `dir` and writes its JWKS to `dir/keys/jwks.json`.
fn write_jwks(dir: &Path) {
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    let jwks = keygen(&dir.join("keys/key.pem"), "k1");
    std::fs::write(dir.join("keys/jwks.json"), jwks).unwrap();
}

fn check_from(cwd: &Path, config: &Path) -> Output {
    doorman()
        .current_dir(cwd)
        .args(["check", "--config"])
        .arg(config)
        .output()
        .unwrap()
}

#[test]
fn check_from_another_directory_reads_key_files_next_to_the_config() {
    let etc = temp_dir("paths-etc");
    write_jwks(&etc);
    let config = write_config(&etc, "keys/jwks.json");
    let elsewhere = temp_dir("paths-cwd");
    let out = check_from(&elsewhere, &config);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A config path given relative to the working directory works the same way.
    let parent = etc.parent().unwrap();
    let out = check_from(parent, config.strip_prefix(parent).unwrap());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Regression (issue 17): the private key was written with mode 0644.
#[cfg(unix)]
#[test]
fn token_keygen_writes_the_private_key_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("keygen-mode");
    write_jwks(&dir);
    let mode = std::fs::metadata(dir.join("keys/key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "mode {:o}", mode & 0o777);
    // Never over an existing file.
    let again = doorman()
        .args(["token", "keygen", "--out"])
        .arg(dir.join("keys/key.pem"))
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

#[test]
fn a_missing_key_file_is_named_by_key_and_absolute_path() {
    let etc = temp_dir("paths-missing");
    let config = write_config(&etc, "keys/nowhere.json");
    let out = check_from(&temp_dir("paths-cwd"), &config);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let tried = etc.join("keys/nowhere.json");
    assert!(err.contains("clerk.jwks_file"), "{err}");
    assert!(err.contains(&tried.display().to_string()), "{err}");
}

#[test]
fn a_missing_config_file_is_named_by_its_absolute_path() {
    let cwd = temp_dir("paths-noconfig");
    let out = doorman()
        .current_dir(&cwd)
        .args(["check", "--config", "missing.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&cwd.join("missing.toml").display().to_string()),
        "{err}"
    );
}
