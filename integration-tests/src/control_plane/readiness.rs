//! Polling until the control plane can be used.

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::core::v1::ServiceAccount;
use kube::{Api, Client};

use super::error::Error;

/// How often conditions are re-checked.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// One look at a condition.
pub enum Observation<T> {
    Ready(T),
    /// Not yet; the text says what was seen (reported on timeout).
    NotYet(String),
}

/// Polls `check` until it reports [`Observation::Ready`], fails, or `timeout` passes.
pub async fn poll_until<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Observation<T>, Error>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let last = match check().await? {
            Observation::Ready(value) => return Ok(value),
            Observation::NotYet(last) => last,
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Timeout { what: what.into(), seconds: timeout.as_secs(), last });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Whether something accepts TCP connections on the loopback `port`.
pub async fn accepts_connections(port: u16) -> Observation<()> {
    match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
        Ok(_) => Observation::Ready(()),
        Err(error) => Observation::NotYet(error.to_string()),
    }
}

/// Whether the apiserver answers `/readyz` with `ok`.
pub async fn apiserver_ready(client: &Client) -> Observation<()> {
    let request = http::Request::get("/readyz").body(Vec::new());
    let Ok(request) = request else {
        return Observation::NotYet("building the /readyz request".into());
    };
    match client.request_text(request).await {
        Ok(body) if body.trim() == "ok" => Observation::Ready(()),
        Ok(body) => Observation::NotYet(body),
        Err(error) => Observation::NotYet(error.to_string()),
    }
}

/// Whether the namespace's `default` ServiceAccount exists and has its token secret, which
/// the 1.20 ServiceAccount admission plugin requires before it admits pods.
pub async fn default_service_account_ready(client: &Client, namespace: &str) -> Observation<()> {
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    match accounts.get_opt("default").await {
        Ok(Some(account)) if account.secrets.as_ref().is_some_and(|s| !s.is_empty()) => {
            Observation::Ready(())
        }
        Ok(Some(_)) => Observation::NotYet("the default ServiceAccount has no token secret yet".into()),
        Ok(None) => Observation::NotYet("no default ServiceAccount yet".into()),
        Err(error) => Observation::NotYet(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn polling_stops_at_the_first_ready_observation() {
        let mut calls = 0;
        let value = poll_until("three calls", Duration::from_secs(10), || {
            calls += 1;
            let seen = calls;
            async move {
                Ok(if seen == 3 { Observation::Ready(seen) } else { Observation::NotYet(format!("{seen}")) })
            }
        })
        .await
        .expect("ready on the third call");
        assert_eq!(value, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn polling_times_out_with_the_last_observation() {
        let started = tokio::time::Instant::now();
        let result: Result<(), Error> = poll_until("never", Duration::from_secs(5), || async {
            Ok(Observation::NotYet("still waiting".into()))
        })
        .await;
        match result {
            Err(Error::Timeout { what, seconds, last }) => {
                assert_eq!((what.as_str(), seconds, last.as_str()), ("never", 5, "still waiting"));
            }
            other => panic!("expected a timeout, got {other:?}"),
        }
        assert!(started.elapsed() >= Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_closed_port_does_not_accept_connections() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding");
        let port = listener.local_addr().expect("an address").port();
        assert!(matches!(accepts_connections(port).await, Observation::Ready(())));
        drop(listener);
        assert!(matches!(accepts_connections(port).await, Observation::NotYet(_)));
    }
}
