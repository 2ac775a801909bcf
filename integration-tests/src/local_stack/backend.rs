//! aci-backend as a process against the emulator: on a Unix socket for the sidecar shape, or
//! on TLS TCP with authenticated callers for the remote shape.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::binaries::binary;
use super::emulator::{AzureTarget, EmulatorProcess};
use super::error::LocalStackError;
use super::os::Os;
use super::process::Process;
use super::remote_tls::ServerFiles;

/// The service principal the backends use against the emulator (any secret is accepted).
const TENANT_ID: &str = "00000000-0000-0000-0000-00000000000a";
const CLIENT_ID: &str = "vk-local-backend";
const CLIENT_SECRET: &str = "vk-local-emulator-secret";

/// Where a backend serves.
#[derive(Clone, Debug)]
pub enum Listen {
    /// `unix://<path>`: the sidecar shape.
    Unix(PathBuf),
    /// `tcp://127.0.0.1:<port>` with TLS and a callers file: the remote shape.
    Tcp { port: u16, tls: ServerFiles },
}

impl Listen {
    /// The address node-agents are given with `--backend`.
    pub fn endpoint(&self) -> String {
        match self {
            Listen::Unix(path) => format!("unix://{}", path.display()),
            Listen::Tcp { port, .. } => format!("tcp://127.0.0.1:{port}"),
        }
    }
}

/// Tells whether a backend serves: a Unix socket that accepts, or a TLS port that completes
/// a handshake and answers HTTP/2 (any answer: gRPC refuses a plain GET).
#[derive(Clone, Debug)]
enum Probe {
    Unix(PathBuf),
    Tls { url: String, http: reqwest::Client },
}

impl Probe {
    fn new(listen: &Listen) -> Result<Self, LocalStackError> {
        match listen {
            Listen::Unix(path) => Ok(Probe::Unix(path.clone())),
            Listen::Tcp { port, tls } => {
                let pem = std::fs::read(&tls.server_ca)
                    .map_err(|source| LocalStackError::ReadFile { path: tls.server_ca.clone(), source })?;
                let ca = reqwest::Certificate::from_pem(&pem).map_err(LocalStackError::HttpClient)?;
                let http = reqwest::Client::builder()
                    .tls_certs_only([ca])
                    .http2_prior_knowledge()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .map_err(LocalStackError::HttpClient)?;
                Ok(Probe::Tls { url: format!("https://localhost:{port}/"), http })
            }
        }
    }

    async fn answers(&self) -> bool {
        match self {
            Probe::Unix(path) => tokio::net::UnixStream::connect(path).await.is_ok(),
            Probe::Tls { url, http } => http.get(url).send().await.is_ok(),
        }
    }
}

/// A running aci-backend.
#[derive(Debug)]
pub struct BackendProcess {
    process: Process,
    listen: Listen,
}

impl BackendProcess {
    /// Starts a backend for `os` container groups in `target` and waits until it listens.
    pub async fn start(
        name: &str,
        os: Os,
        listen: Listen,
        emulator: &EmulatorProcess,
        target: &AzureTarget,
        log_dir: &Path,
    ) -> Result<Self, LocalStackError> {
        Self::start_with(name, os, listen, emulator, target, log_dir, &[]).await
    }

    /// Like [`BackendProcess::start`], with `extra_args` appended to the flags (benchmarks
    /// change the backend's create and delete budgets this way).
    pub async fn start_with(
        name: &str,
        os: Os,
        listen: Listen,
        emulator: &EmulatorProcess,
        target: &AzureTarget,
        log_dir: &Path,
        extra_args: &[String],
    ) -> Result<Self, LocalStackError> {
        let base = emulator.base_url();
        let mut args = vec![
            format!("--listen={}", listen.endpoint()),
            format!("--subscription-id={}", target.subscription_id),
            format!("--resource-group={}", target.resource_group),
            format!("--region={}", target.region),
            format!("--arm-endpoint={base}"),
            format!("--authority-host={base}"),
            format!("--ca-file={}", emulator.ca_path().display()),
            "--credential=client-secret".into(),
            format!("--tenant-id={TENANT_ID}"),
            format!("--client-id={CLIENT_ID}"),
            format!("--client-secret={CLIENT_SECRET}"),
            format!("--node-os={}", os.as_str()),
        ];
        if let Listen::Tcp { tls, .. } = &listen {
            args.extend([
                format!("--tls-cert={}", tls.cert.display()),
                format!("--tls-key={}", tls.key.display()),
                format!("--client-ca={}", tls.client_ca.display()),
                format!("--callers={}", tls.callers.display()),
            ]);
        }
        if let Listen::Unix(path) = &listen
            && let Some(dir) = path.parent()
        {
            std::fs::create_dir_all(dir)
                .map_err(|source| LocalStackError::CreateDir { path: dir.to_path_buf(), source })?;
        }
        args.extend(extra_args.iter().cloned());
        let mut process = Process::spawn(name, &binary("aci-backend")?, args, log_dir)?;
        let probe = Probe::new(&listen)?;
        process
            .wait_until("the provider API to answer", Duration::from_secs(60), || {
                let probe = probe.clone();
                async move { probe.answers().await }
            })
            .await?;
        Ok(Self { process, listen })
    }

    pub fn listen(&self) -> &Listen {
        &self.listen
    }

    pub fn process(&mut self) -> &mut Process {
        &mut self.process
    }

    pub async fn stop(&mut self) -> Result<(), LocalStackError> {
        self.process.stop().await.map(|_| ())
    }
}
