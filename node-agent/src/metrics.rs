//! Prometheus metrics of the agent, served on their own port: pods by phase, pod sync
//! latency, backend call latency and errors.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;
type Histograms = Family<Labels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

/// The agent's metrics. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    pods_by_phase: Family<Labels, Gauge>,
    pod_sync_seconds: Histograms,
    backend_call_seconds: Histograms,
    backend_call_errors: Family<Labels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("node_agent");
        let pods_by_phase = Family::<Labels, Gauge>::default();
        let pod_sync_seconds = Histograms::new_with_constructor(latency_histogram);
        let backend_call_seconds = Histograms::new_with_constructor(latency_histogram);
        let backend_call_errors = Family::<Labels, Counter>::default();
        registry.register("pods", "Pods bound to this node by phase", pods_by_phase.clone());
        registry.register(
            "pod_sync_duration_seconds",
            "Time to sync one pod by operation",
            pod_sync_seconds.clone(),
        );
        registry.register(
            "backend_call_duration_seconds",
            "Latency of provider backend calls by method",
            backend_call_seconds.clone(),
        );
        registry.register(
            "backend_call_errors",
            "Failed provider backend calls by method and gRPC code",
            backend_call_errors.clone(),
        );
        Self {
            registry: Arc::new(registry),
            pods_by_phase,
            pod_sync_seconds,
            backend_call_seconds,
            backend_call_errors,
        }
    }

    /// Sets the number of pods in each phase (phases not named are set to 0).
    pub fn set_pods_by_phase(&self, counts: &[(&str, i64)]) {
        for phase in ["Pending", "Running", "Succeeded", "Failed", "Unknown"] {
            let count = counts.iter().find(|(p, _)| *p == phase).map(|(_, c)| *c).unwrap_or(0);
            self.pods_by_phase.get_or_create(&vec![("phase".to_owned(), phase.to_owned())]).set(count);
        }
    }

    /// Records one pod sync.
    pub fn observe_pod_sync(&self, operation: &str, elapsed: Duration) {
        self.pod_sync_seconds
            .get_or_create(&vec![("operation".to_owned(), operation.to_owned())])
            .observe(elapsed.as_secs_f64());
    }

    /// Records one backend call and, when it failed, its code.
    pub fn observe_backend_call(&self, method: &str, elapsed: Duration, error: Option<tonic::Code>) {
        self.backend_call_seconds
            .get_or_create(&vec![("method".to_owned(), method.to_owned())])
            .observe(elapsed.as_secs_f64());
        if let Some(code) = error {
            self.backend_call_errors
                .get_or_create(&vec![
                    ("method".to_owned(), method.to_owned()),
                    ("code".to_owned(), format!("{code:?}")),
                ])
                .inc();
        }
    }

    /// The text exposition of all metrics.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }

    /// Serves `GET /metrics` on `listener` until `shutdown` resolves.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let metrics = self.clone();
                async move {
                    (
                        [(
                            http::header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        metrics.render(),
                    )
                }
            }),
        );
        axum::serve(listener, app).with_graceful_shutdown(shutdown).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_values_appear_in_the_exposition() {
        let metrics = Metrics::new();
        metrics.set_pods_by_phase(&[("Running", 3)]);
        metrics.observe_pod_sync("create", Duration::from_millis(20));
        metrics.observe_backend_call("CreatePod", Duration::from_millis(5), Some(tonic::Code::Unavailable));
        let text = metrics.render();
        assert!(text.contains("node_agent_pods{phase=\"Running\"} 3"), "{text}");
        assert!(text.contains("node_agent_pods{phase=\"Failed\"} 0"), "{text}");
        assert!(
            text.contains("node_agent_pod_sync_duration_seconds_count{operation=\"create\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "node_agent_backend_call_errors_total{method=\"CreatePod\",code=\"Unavailable\"} 1"
            ),
            "{text}"
        );
    }

    #[tokio::test]
    async fn the_metrics_port_serves_the_exposition() {
        let metrics = Metrics::new();
        metrics.set_pods_by_phase(&[("Pending", 1)]);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let address = listener.local_addr().expect("address");
        let server = tokio::spawn(metrics.serve(listener, std::future::pending()));
        let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect");
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("read");
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.contains("node_agent_pods{phase=\"Pending\"} 1"), "{response}");
        server.abort();
    }
}
