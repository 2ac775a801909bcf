//! Finding the control-plane binaries: etcd from Debian's `etcd-server`, and kube-apiserver,
//! kube-scheduler and kube-controller-manager built once by `control-plane/build.sh` into a
//! cache outside the repository.

use std::env;
use std::path::{Path, PathBuf};

use tokio::sync::Mutex;

/// The Kubernetes version the build script produces and the cache is keyed by.
pub const KUBERNETES_VERSION: &str = "1.20.2";

/// Finding or building a binary failed.
#[derive(Debug, thiserror::Error)]
pub enum BinariesError {
    #[error("running the control-plane build script {script}")]
    RunBuildScript {
        script: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the control-plane build script {script} failed ({status})")]
    BuildScriptFailed { script: PathBuf, status: std::process::ExitStatus },
    #[error("{binary} is still missing after running the build script")]
    StillMissing { binary: PathBuf },
    #[error("neither $HOME nor $XDG_CACHE_HOME nor $VK_CONTROL_PLANE_CACHE is set")]
    NoCacheDirectory,
}

/// Absolute paths of the four server binaries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binaries {
    pub etcd: PathBuf,
    pub kube_apiserver: PathBuf,
    pub kube_scheduler: PathBuf,
    pub kube_controller_manager: PathBuf,
}

impl Binaries {
    /// Where the binaries are expected (they may not exist yet).
    pub fn expected() -> Result<Self, BinariesError> {
        let bin = cache_root()?.join(KUBERNETES_VERSION).join("bin");
        Ok(Self {
            etcd: find_on_path("etcd").unwrap_or_else(|| PathBuf::from("/usr/bin/etcd")),
            kube_apiserver: bin.join("kube-apiserver"),
            kube_scheduler: bin.join("kube-scheduler"),
            kube_controller_manager: bin.join("kube-controller-manager"),
        })
    }

    fn all(&self) -> [&Path; 4] {
        [&self.etcd, &self.kube_apiserver, &self.kube_scheduler, &self.kube_controller_manager]
    }

    fn first_missing(&self) -> Option<&Path> {
        self.all().into_iter().find(|path| !path.is_file())
    }
}

/// The cache root, resolved exactly as `build.sh` does:
/// `${VK_CONTROL_PLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vk-aci/control-plane}`.
pub fn cache_root() -> Result<PathBuf, BinariesError> {
    if let Some(dir) = non_empty_var("VK_CONTROL_PLANE_CACHE") {
        return Ok(PathBuf::from(dir));
    }
    let cache = match non_empty_var("XDG_CACHE_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(non_empty_var("HOME").ok_or(BinariesError::NoCacheDirectory)?).join(".cache"),
    };
    Ok(cache.join("vk-aci").join("control-plane"))
}

/// The build script shipped with this crate.
pub fn build_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("control-plane").join("build.sh")
}

/// Returns the binaries, running `build.sh` first when any is missing (a fresh machine: it
/// installs etcd and builds Kubernetes, about 10 minutes on 2 cores). Calls within one
/// process are serialised; the script itself takes a lock against other processes.
pub async fn ensure_binaries() -> Result<Binaries, BinariesError> {
    static BUILD: Mutex<()> = Mutex::const_new(());
    let binaries = Binaries::expected()?;
    if binaries.first_missing().is_none() {
        return Ok(binaries);
    }
    let _serialised = BUILD.lock().await;
    let binaries = Binaries::expected()?;
    if binaries.first_missing().is_none() {
        return Ok(binaries);
    }
    let script = build_script();
    tracing::info!(script = %script.display(), "control-plane binaries missing; building them");
    let status = tokio::process::Command::new("bash")
        .arg(&script)
        .stdin(std::process::Stdio::null())
        .status()
        .await
        .map_err(|source| BinariesError::RunBuildScript { script: script.clone(), source })?;
    if !status.success() {
        return Err(BinariesError::BuildScriptFailed { script, status });
    }
    let binaries = Binaries::expected()?;
    match binaries.first_missing() {
        Some(binary) => Err(BinariesError::StillMissing { binary: binary.to_path_buf() }),
        None => Ok(binaries),
    }
}

fn non_empty_var(name: &str) -> Option<std::ffi::OsString> {
    env::var_os(name).filter(|value| !value.is_empty())
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    env::split_paths(&env::var_os("PATH")?).map(|dir| dir.join(program)).find(|path| path.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_script_ships_with_the_crate() {
        assert!(build_script().is_file(), "{}", build_script().display());
    }

    #[test]
    fn the_kubernetes_binaries_live_in_a_versioned_cache_directory() {
        let binaries = Binaries::expected().expect("resolving the cache directory");
        let bin_dir = binaries.kube_apiserver.parent().expect("a parent directory");
        assert!(bin_dir.ends_with(Path::new(KUBERNETES_VERSION).join("bin")), "{}", bin_dir.display());
        assert_eq!(binaries.kube_scheduler.parent(), Some(bin_dir));
        assert_eq!(binaries.kube_controller_manager.parent(), Some(bin_dir));
    }

    #[test]
    fn a_program_that_is_not_on_the_path_is_not_found() {
        assert_eq!(find_on_path("vk-aci-no-such-program"), None);
        assert!(find_on_path("sh").is_some());
    }
}
