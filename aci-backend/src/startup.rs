//! Start-up: from flags to a serving backend. Every missing or unusable setting stops
//! start-up with an error naming it; Azure being unreachable does not (node info says so).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::arm::layers::auth::TokenSource;
use crate::arm::layers::budget::{Budget, BudgetConfig, Window};
use crate::arm::layers::metrics::ArmMetrics;
use crate::arm::stack::{StackParts, StackSettings, arm_service};
use crate::arm::{ArmClient, ArmTarget};
use crate::config::{Flags, NodeOs, credential, http_client};
use crate::engine::{Engine, Pace};
use crate::grpc::AciProvider;
use crate::pods::PodService;
use crate::serve::health::{self, Readiness};
use crate::serve::{Callers, TcpSecurity, serve};
use crate::stats::StatsSettings;
use crate::streams::terminal::{WsConnector, websocket_tls};
use crate::translate::{ClusterDns, GroupLimits, GroupOs, TranslateConfig};

/// Why the backend could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A file named by a flag cannot be read.
    #[error("reading {flag} {path}: {message}")]
    File {
        /// Flag.
        flag: &'static str,
        /// Path.
        path: String,
        /// Detail.
        message: String,
    },
    /// The websocket TLS settings cannot be built.
    #[error(transparent)]
    WebSocketTls(#[from] crate::streams::terminal::TlsError),
    /// The HTTP client cannot be built.
    #[error(transparent)]
    Http(#[from] crate::config::HttpClientError),
    /// The credential cannot be built.
    #[error(transparent)]
    Credential(#[from] crate::config::CredentialError),
    /// The callers file is unusable.
    #[error(transparent)]
    Callers(#[from] crate::serve::CallersError),
    /// Serving failed.
    #[error(transparent)]
    Serve(#[from] crate::serve::ServeError),
    /// The health port could not be bound.
    #[error(transparent)]
    Health(#[from] crate::serve::health::HealthError),
}

fn read(flag: &'static str, path: &std::path::Path) -> Result<Vec<u8>, StartError> {
    std::fs::read(path).map_err(|e| StartError::File {
        flag,
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// ACI's create or delete windows; a slot counts 1% longer than ACI's window, so our clock and
/// ACI's (which starts when the request arrives) never disagree at a window's edge.
fn windows(per_5min: usize, per_hour: usize, scale: f64) -> Vec<Window> {
    let scaled = |secs: u64| Duration::from_secs(secs).mul_f64(scale.clamp(1e-6, 1.0) * 1.01);
    vec![Window { limit: per_5min, period: scaled(300) }, Window { limit: per_hour, period: scaled(3600) }]
}

/// The pieces a running backend is made of.
pub struct Backend {
    /// The provider service.
    pub provider: AciProvider,
    /// The status engine (run it with [`Engine::run`]).
    pub engine: Arc<Engine>,
    /// ARM attempt counters.
    pub metrics: Arc<ArmMetrics>,
}

/// The ARM client the flags describe, trusting `ca` (PEM) besides the platform roots and
/// counting its attempts in `metrics` (no network traffic yet).
pub fn arm_client(
    flags: &Flags,
    ca: Option<&[u8]>,
    metrics: Arc<ArmMetrics>,
) -> Result<ArmClient, StartError> {
    let http = http_client(ca)?;
    let cred = credential(flags, &http)?;
    let scope = format!("{}/.default", flags.arm_endpoint.as_str().trim_end_matches('/'));
    let budget = BudgetConfig {
        creates: windows(flags.creates_per_5min, flags.creates_per_hour, flags.quota_time_scale),
        deletes: windows(flags.deletes_per_5min, flags.deletes_per_hour, flags.quota_time_scale),
        ..BudgetConfig::default()
    };
    let tokens = Arc::new(TokenSource::new(cred, scope, Duration::from_secs(300)));
    let budget = Arc::new(Budget::new(&budget));
    let parts = StackParts { http, tokens: tokens.clone(), budget: budget.clone(), metrics };
    let target = ArmTarget {
        endpoint: flags.arm_endpoint.clone(),
        subscription_id: flags.subscription_id.clone(),
        resource_group: flags.resource_group.clone(),
        location: flags.region.clone(),
    };
    Ok(ArmClient::new(target, arm_service(&StackSettings::default(), parts))
        .with_tokens(tokens)
        .with_budget(budget))
}

/// Builds the backend from flags (no network traffic yet).
pub fn build(flags: &Flags, pace: Pace) -> Result<Backend, StartError> {
    let ca = flags.ca_file.as_deref().map(|p| read("--ca-file", p)).transpose()?;
    let metrics = Arc::new(ArmMetrics::default());
    let arm = arm_client(flags, ca.as_deref(), metrics.clone())?;
    let os = match flags.node_os {
        NodeOs::Linux => GroupOs::Linux,
        NodeOs::Windows => GroupOs::Windows,
    };
    let mut base = TranslateConfig::new("", "", flags.region.clone());
    base.node_os = os;
    base.subnet_ids = flags.subnet_ids.clone();
    base.cluster_dns = flags
        .cluster_dns
        .clone()
        .map(|nameserver| ClusterDns { nameserver, cluster_domain: flags.cluster_domain.clone() });
    let connector = WsConnector::new(websocket_tls(ca.as_deref())?);
    let engine = Engine::new(arm, pace, Some(base.clone()));
    let stats = StatsSettings { reads_per_minute: flags.stats_reads_per_minute, ..StatsSettings::default() };
    let provider = AciProvider::new(PodService::new(engine.clone(), base), os, connector, stats);
    Ok(Backend { provider, engine, metrics })
}

/// Per-group maxima from the region's capabilities for the node's OS (without GPU); the
/// defaults stay when they cannot be read.
async fn apply_capabilities(backend: &Backend, os: NodeOs) {
    let wanted = match os {
        NodeOs::Linux => "Linux",
        NodeOs::Windows => "Windows",
    };
    match backend.engine.arm().capabilities().await {
        Ok(list) => {
            let fitting = list.iter().filter(|c| {
                c.os_type.eq_ignore_ascii_case(wanted)
                    && (c.gpu.is_empty() || c.gpu.eq_ignore_ascii_case("None"))
            });
            let cpu = fitting.clone().map(|c| c.capabilities.max_cpu).fold(0.0, f64::max);
            let memory = fitting.map(|c| c.capabilities.max_memory_in_gb).fold(0.0, f64::max);
            if cpu > 0.0 && memory > 0.0 {
                tracing::info!(cpu, memory, "per-group maxima from the region's capabilities");
                backend.provider.pods().set_limits(GroupLimits {
                    max_cpu_cores: cpu,
                    max_memory_gb: memory,
                    ..GroupLimits::default()
                });
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "reading the region's capabilities failed; using default maxima")
        }
    }
}

/// Runs the backend until `shutdown` completes.
pub async fn run(
    flags: Flags,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let tcp = match (&flags.listen, &flags.tls_cert, &flags.tls_key, &flags.callers) {
        (vk_proto::Endpoint::Tcp(_), Some(cert), Some(key), Some(callers)) => Some(TcpSecurity {
            cert_pem: read("--tls-cert", cert)?,
            key_pem: read("--tls-key", key)?,
            client_ca_pem: flags.client_ca.as_deref().map(|p| read("--client-ca", p)).transpose()?,
            callers: Callers::load(callers)?,
        }),
        _ => None,
    };
    // Refused before anything else happens (no Azure call, no health port).
    if let (vk_proto::Endpoint::Tcp(_), None) = (&flags.listen, &tcp) {
        return Err(crate::serve::ServeError::InsecureTcp(flags.listen.to_string()).into());
    }
    let backend = build(&flags, Pace::default())?;
    let readiness = Readiness::default();
    let (stop_health, health_stopped) = tokio::sync::oneshot::channel::<()>();
    if let Some(address) = flags.health_addr {
        let served = health::bind(address, readiness.clone(), async move {
            let _ = health_stopped.await;
        })
        .await?;
        tokio::spawn(async move {
            if let Err(error) = served.await {
                tracing::warn!(%error, "the health port stopped");
            }
        });
    }
    if let Err(e) = backend.engine.sync_once().await {
        tracing::warn!(error = %e, "the first look at Azure failed; serving anyway and retrying");
    }
    apply_capabilities(&backend, flags.node_os).await;
    let engine = tokio::spawn(backend.engine.clone().run());
    tracing::info!(listen = %flags.listen, "serving the provider API");
    readiness.set(true);
    let served = serve(&flags.listen, backend.provider, tcp, shutdown).await;
    readiness.set(false);
    let _ = stop_health.send(());
    engine.abort();
    Ok(served?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[tokio::test]
    async fn tcp_without_tls_is_refused_before_any_azure_call() {
        let flags = Flags::try_parse_from([
            "aci-backend",
            "--listen=tcp://127.0.0.1:1",
            "--subscription-id=s",
            "--resource-group=rg",
            "--region=westeurope",
            // Nothing answers here: reaching Azure first would take the retries' time.
            "--arm-endpoint=https://127.0.0.1:9",
            "--tls-cert=/nonexistent/cert.pem",
        ])
        .expect("flags");
        let refused = tokio::time::timeout(Duration::from_secs(2), run(flags, std::future::pending()))
            .await
            .expect("refused at once");
        assert!(
            matches!(refused, Err(StartError::Serve(crate::serve::ServeError::InsecureTcp(_)))),
            "{refused:?}"
        );
    }

    #[test]
    fn quota_windows_shrink_with_the_time_scale_and_never_grow() {
        let periods = |scale| windows(100, 300, scale).iter().map(|w| w.period).collect::<Vec<_>>();
        // ACI's windows plus 1%.
        assert_eq!(periods(1.0), [Duration::from_secs(303), Duration::from_secs(3636)]);
        assert_eq!(periods(0.01), [Duration::from_millis(3030), Duration::from_millis(36360)]);
        assert_eq!(periods(5.0), periods(1.0), "a scale above 1 is taken as 1");
        assert_eq!(windows(7, 9, 1.0).iter().map(|w| w.limit).collect::<Vec<_>>(), [7, 9]);
    }
}
