//! The one control plane shared by all tests of a test process.

use tokio::sync::OnceCell;

use super::error::Error;
use super::instance::{ControlPlane, Options};

/// Started once; a failed start is remembered so later tests fail fast with the same cause.
static SHARED: OnceCell<Result<ControlPlane, String>> = OnceCell::const_new();

impl ControlPlane {
    /// The control plane shared by every test in this process, started on first use with
    /// default [`Options`]. It is never dropped: its servers end with the test process and
    /// its state directory is removed shortly after. Keep tests apart with
    /// [`ControlPlane::create_namespace`] and [`super::unique_name`] for node names.
    pub async fn shared() -> Result<&'static ControlPlane, Error> {
        let started = SHARED
            .get_or_init(|| async {
                ControlPlane::start(Options::default()).await.map_err(|error| error_chain(&error))
            })
            .await;
        started.as_ref().map_err(|cause| Error::SharedStartFailed(cause.clone()))
    }
}

/// An error with all its sources, `outer: inner: ...`.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_chain_names_every_cause() {
        let inner = std::io::Error::other("disk full");
        let outer = Error::WriteFile { path: "/x".into(), source: inner };
        assert_eq!(error_chain(&outer), "writing /x: disk full");
    }
}
