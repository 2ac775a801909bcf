//! Image names that make a simulated container behave in a chosen way (documented for test authors).
//!
//! Matching uses the image's last path segment without tag or digest, so `crash-loop`,
//! `myregistry.azurecr.io/tests/crash-loop:1` and `crash-loop@sha256:...` all match.
//! - `inaccessible-image`: PUT is refused with `InaccessibleImage`, as Azure does for an image it cannot pull.
//! - `crash-loop`: the container runs for `--crash-after-ms`, then exits with code 1, every time.
//! - `exit-<code>-after-<n>s`: the container runs for n seconds (scaled), then exits with `<code>`.
//! - anything else: the container runs until stopped (or until told to exit through the admin API).

use std::time::Duration;

/// What a simulated container does once running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageBehaviour {
    RunForever,
    Inaccessible,
    CrashLoop,
    ExitAfter { code: i32, after: Duration },
}

fn repository_name(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split(':').next().unwrap_or(last)
}

/// The behaviour an image name selects.
pub fn behaviour(image: &str) -> ImageBehaviour {
    let name = repository_name(image).to_ascii_lowercase();
    if name == "inaccessible-image" {
        return ImageBehaviour::Inaccessible;
    }
    if name == "crash-loop" {
        return ImageBehaviour::CrashLoop;
    }
    if let Some(rest) = name.strip_prefix("exit-")
        && let Some((code, after)) = rest.split_once("-after-")
        && let Some(secs) = after.strip_suffix('s')
        && let (Ok(code), Ok(secs)) = (code.parse::<i32>(), secs.parse::<u64>())
    {
        return ImageBehaviour::ExitAfter { code, after: Duration::from_secs(secs) };
    }
    ImageBehaviour::RunForever
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_names_match_with_registry_and_tag() {
        assert_eq!(behaviour("inaccessible-image"), ImageBehaviour::Inaccessible);
        assert_eq!(behaviour("r.azurecr.io/t/crash-loop:1"), ImageBehaviour::CrashLoop);
        assert_eq!(
            behaviour("exit-3-after-2s:latest"),
            ImageBehaviour::ExitAfter { code: 3, after: Duration::from_secs(2) }
        );
        assert_eq!(behaviour("nginx"), ImageBehaviour::RunForever);
        assert_eq!(behaviour("exit-x-after-2s"), ImageBehaviour::RunForever);
    }
}
