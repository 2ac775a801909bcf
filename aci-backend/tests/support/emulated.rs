//! A backend against an in-process emulator: the flags that point it there, and one running
//! with its status engine and provider server until stopped.

use std::path::Path;
use std::time::Duration;

use aci_backend::arm::ArmClient;
use aci_backend::config::Flags;
use aci_backend::engine::Pace;
use aci_backend::serve::{TcpSecurity, serve};
use aci_backend::startup::{Backend, build};
use clap::Parser as _;

/// The subscription every test backend uses.
pub const SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000001";

/// A quick pace, so tests see state changes within a second.
pub const FAST: Pace = Pace {
    unsettled: Duration::from_millis(100),
    settled: Duration::from_secs(1),
    list: Duration::from_millis(300),
};

/// Flags for a backend on `emulator` that listens on `listen` (`unix://...` or `tcp://...`),
/// trusts the emulator's CA (written into `dir`), works in resource group `vk-test` as client
/// `backend`. `extra` flags replace the defaults of the same name and add others.
pub fn flags(emulator: &aci_emulator::EmulatorHandle, dir: &Path, listen: &str, extra: &[String]) -> Flags {
    let mut extra = extra.to_vec();
    if let Some(ca) = emulator.ca_pem() {
        let path = dir.join("emulator-ca.pem");
        std::fs::write(&path, ca).expect("write the emulator's CA");
        extra.push(format!("--ca-file={}", path.display()));
    }
    parse(emulator, listen, &extra)
}

/// An ARM client for the emulator with the default flags (it trusts the emulator's CA).
pub fn arm_client(emulator: &aci_emulator::EmulatorHandle) -> ArmClient {
    let flags = parse(emulator, "unix:///tmp/unused.sock", &[]);
    aci_backend::startup::arm_client(&flags, emulator.ca_pem().map(str::as_bytes), Default::default())
        .expect("ARM client")
}

fn parse(emulator: &aci_emulator::EmulatorHandle, listen: &str, extra: &[String]) -> Flags {
    let base = emulator.base_url().trim_end_matches('/').to_string();
    let mut args = vec!["aci-backend".to_string(), format!("--listen={listen}")];
    let defaults = [
        format!("--subscription-id={SUBSCRIPTION}"),
        "--resource-group=vk-test".into(),
        "--region=westeurope".into(),
        format!("--arm-endpoint={base}"),
        format!("--authority-host={base}"),
        "--credential=client-secret".into(),
        "--tenant-id=00000000-0000-0000-0000-00000000000a".into(),
        "--client-id=backend".into(),
        "--client-secret=emulator-secret".into(),
    ];
    for default in defaults {
        let name = default.split('=').next().unwrap_or_default().to_string();
        if !extra.iter().any(|e| e.split('=').next() == Some(name.as_str())) {
            args.push(default);
        }
    }
    args.extend(extra.iter().cloned());
    Flags::try_parse_from(args).expect("flags")
}

/// A backend serving the provider API with its status engine running.
pub struct Running {
    /// The flags it was built from (`listen` is where it serves).
    pub flags: Flags,
    /// ARM attempt counters.
    pub metrics: std::sync::Arc<aci_backend::arm::layers::metrics::ArmMetrics>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<Result<(), aci_backend::serve::ServeError>>,
    engine: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Builds the backend `flags` describe with `pace` and serves it (with `tcp` security on a
    /// TCP address); returns once a Unix socket exists or at once for TCP.
    pub async fn start(flags: Flags, pace: Pace, tcp: Option<TcpSecurity>) -> Running {
        let Backend { provider, engine, metrics } = build(&flags, pace).expect("backend builds");
        let engine = tokio::spawn(engine.run());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let listen = flags.listen.clone();
        let server = tokio::spawn(async move {
            serve(&listen, provider, tcp, async {
                let _ = stopped.await;
            })
            .await
        });
        if let vk_proto::Endpoint::Unix(socket) = &flags.listen {
            for _ in 0..250 {
                if socket.exists() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Running { flags, metrics, stop: Some(stop), server, engine }
    }

    /// Stops serving and the engine; returns what the server returned.
    pub async fn stop(mut self) -> Result<(), aci_backend::serve::ServeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.engine.abort();
        (&mut self.server).await.expect("the server task ends")
    }
}

/// A provider client with a scope.
pub type Client = vk_proto::v1::provider_client::ProviderClient<
    tonic::service::interceptor::InterceptedService<
        tonic::transport::Channel,
        vk_proto::scope::ScopeInterceptor,
    >,
>;

/// An emulator over TLS with fast timings, a backend serving on a Unix socket in a temporary
/// directory, and a client calling it for cluster `c`, node `vk-node`.
pub struct Served {
    /// The emulator.
    pub emulator: aci_emulator::EmulatorHandle,
    /// The backend.
    pub backend: Running,
    /// The client.
    pub client: Client,
    _dir: tempfile::TempDir,
}

impl Served {
    /// Starts both; `extra` backend flags as for [`flags`].
    pub async fn start(extra: &[&str]) -> Served {
        let config = aci_emulator::Config { tls: true, ..aci_emulator::Config::fast() };
        let emulator = aci_emulator::Emulator::start(config).await.expect("emulator starts");
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("provider.sock");
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let flags = flags(&emulator, dir.path(), &format!("unix://{}", socket.display()), &extra);
        let backend = Running::start(flags, FAST, None).await;
        let channel = backend.flags.listen.channel(None).expect("channel");
        let scope = vk_proto::Scope::new("c", "vk-node");
        let client = vk_proto::v1::provider_client::ProviderClient::with_interceptor(
            channel,
            vk_proto::scope::ScopeInterceptor::new(&scope).expect("scope"),
        );
        Served { emulator, backend, client, _dir: dir }
    }

    /// Stops the backend and the emulator.
    pub async fn stop(self) {
        let _ = self.backend.stop().await;
        self.emulator.shutdown().await;
    }
}
