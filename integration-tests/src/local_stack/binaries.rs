//! Finding the workspace's binaries (`aci-emulator`, `aci-backend`, `node-agent`) next to
//! the running executable: `target/debug/vk-local` and `target/debug/deps/e2e_*` both lead to
//! `target/debug`, whatever `CARGO_TARGET_DIR` is.

use std::path::{Path, PathBuf};

use super::error::LocalStackError;

/// Overrides the directory the binaries are taken from.
pub const BIN_DIR_ENV: &str = "VK_BIN_DIR";

/// The directory holding the workspace binaries.
pub fn binary_dir() -> Result<PathBuf, LocalStackError> {
    if let Some(dir) = std::env::var_os(BIN_DIR_ENV).filter(|dir| !dir.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let exe = std::env::current_exe().map_err(LocalStackError::FindBinaryDir)?;
    Ok(dir_of_executable(&exe))
}

fn dir_of_executable(exe: &Path) -> PathBuf {
    let parent = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    match parent.file_name() {
        Some(name) if name == "deps" => parent.parent().map(Path::to_path_buf).unwrap_or(parent),
        _ => parent,
    }
}

/// The path of workspace binary `name`, which must exist.
pub fn binary(name: &str) -> Result<PathBuf, LocalStackError> {
    let path = binary_dir()?.join(name);
    if path.is_file() { Ok(path) } else { Err(LocalStackError::MissingBinary { binary: path }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_executables_in_deps_find_the_binaries_one_level_up() {
        assert_eq!(dir_of_executable(Path::new("/t/debug/deps/e2e_nodes-0123")), PathBuf::from("/t/debug"));
        assert_eq!(dir_of_executable(Path::new("/t/debug/vk-local")), PathBuf::from("/t/debug"));
    }

    #[test]
    fn a_missing_binary_is_named_with_the_build_command() {
        let error = binary("vk-no-such-binary").expect_err("not built");
        assert!(error.to_string().contains("cargo build --workspace --bins"), "{error}");
    }
}
