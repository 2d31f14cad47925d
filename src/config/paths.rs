//! File paths in a config resolve against the config file's directory.
//!
//! A config names key files, certificates and CA bundles. Written relative, they mean
//! "next to this config", whatever the working directory of the process (`/` under systemd,
//! anywhere for `doorman check`). [`resolve_relative`] rewrites every path of a compiled
//! config once, after compiling, so every later reader (and every error message) sees the
//! absolute path that was tried. It never touches the files themselves.

use std::path::{Path, PathBuf};

use super::{Config, KeySource};

/// `path` made absolute: joined to `base` when relative, then lexically cleaned of `.`
/// segments. `..` is kept (a symlinked directory makes it mean something else).
pub fn resolve(base: &Path, path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    joined
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// The directory that relative paths in the config at `config_path` resolve against: the
/// file's own directory, made absolute with the working directory when needed.
pub fn base_dir(config_path: &Path) -> PathBuf {
    let absolute = absolute(config_path);
    absolute
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// `path` made absolute against the working directory (unchanged when that is unknown).
pub fn absolute(path: &Path) -> PathBuf {
    match std::env::current_dir() {
        Ok(cwd) => resolve(&cwd, path),
        Err(_) => path.to_path_buf(),
    }
}

/// Rewrites every file path of `config` to be absolute, relative ones against `base`.
pub fn resolve_relative(config: &mut Config, base: &Path) {
    let fix = |p: &mut PathBuf| *p = resolve(base, p);
    if let Some(tls) = config.server.tls.as_mut() {
        fix(&mut tls.cert);
        fix(&mut tls.key);
    }
    match &mut config.clerk.keys {
        KeySource::JwksFile(p) | KeySource::PemFile(p) => fix(p),
        KeySource::JwksUrl(_) | KeySource::PemText(_) => {}
    }
    if let Some(ca) = config.clerk.ca_file.as_mut() {
        fix(ca);
    }
    for upstream in &mut config.upstreams {
        if let Some(ca) = upstream.ca_file.as_mut() {
            fix(ca);
        }
    }
    if let Some(assertion) = config.assertion.as_mut() {
        assertion.keys.iter_mut().for_each(fix);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_join_the_base_and_absolute_ones_stay() {
        let base = Path::new("/etc/doorman");
        assert_eq!(
            resolve(base, Path::new("jwks.json")),
            Path::new("/etc/doorman/jwks.json")
        );
        assert_eq!(
            resolve(base, Path::new("./keys/clerk.pem")),
            Path::new("/etc/doorman/keys/clerk.pem")
        );
        assert_eq!(
            resolve(base, Path::new("/run/secrets/k.pem")),
            Path::new("/run/secrets/k.pem")
        );
        assert_eq!(
            resolve(base, Path::new("../shared/ca.pem")),
            Path::new("/etc/doorman/../shared/ca.pem")
        );
    }

    #[test]
    fn the_base_is_the_config_files_directory() {
        assert_eq!(
            base_dir(Path::new("/etc/doorman/config.toml")),
            Path::new("/etc/doorman")
        );
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(base_dir(Path::new("config.toml")), cwd);
    }
}
