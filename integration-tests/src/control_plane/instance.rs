//! A running control plane: etcd, kube-apiserver, kube-controller-manager and kube-scheduler
//! on loopback ports, with TLS, RBAC and service accounts.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

use super::binaries::{Binaries, ensure_binaries};
use super::certs::Pki;
use super::components::{self, ExtraArgs, Layout, Ports, SERVICE_ACCOUNT_ISSUER};
use super::error::Error;
use super::kubeconfig;
use super::process::{ProcessSpec, Supervised};
use super::readiness::{self, Observation, poll_until};
use super::state_dir::StateDir;

/// How a control plane is started.
#[derive(Clone, Debug)]
pub struct Options {
    /// Extra flags per component, appended to the harness's own.
    pub extra_args: ExtraArgs,
    /// Keep the state directory (certificates, kubeconfigs, logs) after the control plane
    /// is gone. Defaults to `VK_CONTROL_PLANE_KEEP=1` in the environment.
    pub keep_state_dir: bool,
    /// How long each startup step may take (the machine may be busy compiling).
    pub startup_timeout: Duration,
    /// Create the state directory under this directory instead of the system temp
    /// directory (the local quick start keeps it in `./.vk-local/`).
    pub state_parent: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            extra_args: ExtraArgs::default(),
            keep_state_dir: StateDir::keep_requested(),
            startup_timeout: Duration::from_secs(180),
            state_parent: None,
        }
    }
}

/// The running servers, stopped in reverse start order.
#[derive(Debug, Default)]
struct Processes {
    scheduler: Option<Supervised>,
    controller_manager: Option<Supervised>,
    apiserver: Option<Supervised>,
    etcd: Option<Supervised>,
}

impl Processes {
    fn all(&mut self) -> impl Iterator<Item = &mut Supervised> {
        [&mut self.scheduler, &mut self.controller_manager, &mut self.apiserver, &mut self.etcd]
            .into_iter()
            .flatten()
    }

    /// Fails with the log tail of the first server that has exited.
    fn check_alive(&mut self) -> Result<(), Error> {
        for process in self.all() {
            if let Some(status) = process.exit_status()? {
                return Err(Error::ComponentExited {
                    component: process.spec().name.clone(),
                    status,
                    log_tail: process.log_tail(30),
                });
            }
        }
        Ok(())
    }
}

/// A local Kubernetes 1.20 control plane. Dropping it stops every server and removes its
/// state directory; servers of one that is never dropped end with the test process.
#[derive(Debug)]
pub struct ControlPlane {
    processes: Mutex<Processes>,
    apiserver_spec: ProcessSpec,
    pki: Pki,
    ports: Ports,
    server_url: String,
    admin_kubeconfig: PathBuf,
    kube_config: kube::Config,
    log_dir: PathBuf,
    startup_timeout: Duration,
    state: StateDir,
}

impl ControlPlane {
    /// Starts a private control plane (the shared one is [`ControlPlane::shared`]).
    pub async fn start(options: Options) -> Result<Self, Error> {
        // kube's TLS uses the process-wide rustls provider, which rustls cannot pick by
        // itself once a workspace build enables both ring and aws-lc-rs (reqwest's default).
        // Another provider already installed is fine.
        vk_proto::tls::install_crypto_provider();
        let binaries = ensure_binaries().await?;
        let state = StateDir::create(options.keep_state_dir, options.state_parent.as_deref())?;
        let layout = Layout { root: state.path().to_path_buf() };
        let pki = Pki::generate()?;
        let ports = Ports::pick().map_err(Error::PickPorts)?;
        let server_url = format!("https://127.0.0.1:{}", ports.apiserver);
        write_files(&layout, &pki, &server_url)?;
        let admin_kubeconfig = layout.kubeconfig("admin");
        let kube_config = load_kube_config(&admin_kubeconfig).await?;
        let startup_timeout = options.startup_timeout;

        let mut plane = Self {
            processes: Mutex::new(Processes::default()),
            apiserver_spec: components::apiserver(&binaries, &layout, &ports, &options.extra_args),
            pki,
            ports,
            server_url,
            admin_kubeconfig,
            kube_config,
            log_dir: layout.logs(),
            startup_timeout,
            state,
        };
        plane.start_servers(&binaries, &layout, &options.extra_args).await?;
        tracing::info!(server = %plane.server_url, dir = %plane.state.path().display(), "control plane ready");
        Ok(plane)
    }

    async fn start_servers(
        &mut self,
        binaries: &Binaries,
        layout: &Layout,
        extra: &ExtraArgs,
    ) -> Result<(), Error> {
        let etcd = Supervised::spawn(&components::etcd(binaries, layout, &self.ports))?;
        self.processes().etcd = Some(etcd);
        let port = self.ports.etcd_client;
        self.wait(
            "etcd to accept connections",
            || async move { Ok(readiness::accepts_connections(port).await) },
        )
        .await?;

        self.start_apiserver().await?;

        let controller_manager =
            Supervised::spawn(&components::controller_manager(binaries, layout, &self.ports, extra))?;
        self.processes().controller_manager = Some(controller_manager);
        let scheduler = Supervised::spawn(&components::scheduler(binaries, layout, &self.ports, extra))?;
        self.processes().scheduler = Some(scheduler);
        self.wait_for_default_service_account("default").await
    }

    /// Starts the apiserver (after [`ControlPlane::stop_apiserver`]) on the same port with
    /// the same flags, and waits until `/readyz` says ok.
    pub async fn start_apiserver(&self) -> Result<(), Error> {
        {
            let mut processes = self.processes();
            if processes.apiserver.is_some() {
                return Err(Error::ApiserverState("running"));
            }
            processes.apiserver = Some(Supervised::spawn(&self.apiserver_spec)?);
        }
        let client = self.client()?;
        self.wait("the apiserver to be ready", || {
            let client = client.clone();
            async move { Ok(readiness::apiserver_ready(&client).await) }
        })
        .await
    }

    /// Stops the apiserver and waits until it has exited; etcd and the other components
    /// keep running. For private instances only: the shared one serves other tests.
    pub async fn stop_apiserver(&self) -> Result<(), Error> {
        let Some(mut apiserver) = self.processes().apiserver.take() else {
            return Err(Error::ApiserverState("stopped"));
        };
        tokio::task::spawn_blocking(move || apiserver.stop())
            .await
            .map_err(|error| Error::StopTask("apiserver", error))??;
        Ok(())
    }

    /// [`ControlPlane::stop_apiserver`] then [`ControlPlane::start_apiserver`].
    pub async fn restart_apiserver(&self) -> Result<(), Error> {
        self.stop_apiserver().await?;
        self.start_apiserver().await
    }

    /// Waits until `namespace`'s `default` ServiceAccount has its token, so pods are admitted.
    pub async fn wait_for_default_service_account(&self, namespace: &str) -> Result<(), Error> {
        let client = self.client()?;
        self.wait(&format!("the default ServiceAccount in {namespace}"), || {
            let client = client.clone();
            async move { Ok(readiness::default_service_account_ready(&client, namespace).await) }
        })
        .await
    }

    /// Polls `check` within the startup timeout, failing early if a server exits.
    async fn wait<F, Fut>(&self, what: &str, mut check: F) -> Result<(), Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Observation<()>, Error>>,
    {
        poll_until(what, self.startup_timeout, || {
            let alive = self.processes().check_alive();
            let observation = check();
            async move {
                alive?;
                observation.await
            }
        })
        .await
        .map_err(|error| match error {
            Error::Timeout { what, seconds, last } => {
                Error::Timeout { what, seconds, last: format!("{last}\n{}", self.log_tails(15)) }
            }
            other => other,
        })
    }

    /// The recent log lines of every running server, for error messages.
    fn log_tails(&self, lines: usize) -> String {
        let mut processes = self.processes();
        processes
            .all()
            .map(|process| format!("--- {} ---\n{}", process.spec().name, process.log_tail(lines)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn processes(&self) -> MutexGuard<'_, Processes> {
        // A panic while holding the lock leaves the data consistent (only Options move).
        self.processes.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A new admin client (`system:masters`). Create one per test: a client is bound to the
    /// tokio runtime it first connects from, and every `#[tokio::test]` has its own.
    pub fn client(&self) -> Result<kube::Client, Error> {
        kube::Client::try_from(self.kube_config.clone()).map_err(Error::BuildClient)
    }

    /// The admin client configuration.
    pub fn kube_config(&self) -> &kube::Config {
        &self.kube_config
    }

    /// The admin kubeconfig file (inline certificates).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.admin_kubeconfig
    }

    /// `https://127.0.0.1:<port>`.
    pub fn server_url(&self) -> &str {
        &self.server_url
    }

    pub(super) fn pki(&self) -> &Pki {
        &self.pki
    }

    /// The CA that signed the apiserver's serving certificate and all client certificates.
    pub fn cluster_ca_pem(&self) -> &str {
        &self.pki.ca.cert_pem
    }

    /// The CA a kubelet (node-agent) trusts for client certificates: it signed the
    /// certificate the apiserver presents on logs/exec/attach/stats calls to kubelets.
    pub fn kubelet_client_ca_pem(&self) -> &str {
        &self.pki.ca.cert_pem
    }

    /// The apiserver's kubelet client certificate (`CN=kube-apiserver-kubelet-client`,
    /// `O=system:masters`).
    pub fn kubelet_client_cert_pem(&self) -> &str {
        &self.pki.apiserver_kubelet_client.cert_pem
    }

    /// The private key of [`ControlPlane::kubelet_client_cert_pem`].
    pub fn kubelet_client_key_pem(&self) -> &str {
        &self.pki.apiserver_kubelet_client.key_pem
    }

    /// The `iss` of service-account tokens (also the API audience).
    pub fn service_account_issuer(&self) -> &str {
        SERVICE_ACCOUNT_ISSUER
    }

    /// Where `etcd.log`, `kube-apiserver.log`, `kube-controller-manager.log` and
    /// `kube-scheduler.log` are written.
    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    /// The directory holding this control plane's certificates, kubeconfigs, etcd data and
    /// logs (removed with it unless [`Options::keep_state_dir`]).
    pub fn state_dir(&self) -> &Path {
        self.state.path()
    }

    /// The last `lines` lines of a component's log (`"kube-apiserver"`, `"etcd"`, ...).
    pub fn log_tail(&self, component: &str, lines: usize) -> String {
        super::process::log_tail(&self.log_dir.join(format!("{component}.log")), lines)
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        let mut processes = self.processes();
        for process in processes.all() {
            if let Err(error) = process.stop() {
                tracing::warn!(%error, "stopping the control plane");
            }
        }
    }
}

fn write_files(layout: &Layout, pki: &Pki, server_url: &str) -> Result<(), Error> {
    for dir in layout.directories() {
        std::fs::create_dir_all(&dir).map_err(|source| Error::WriteFile { path: dir.clone(), source })?;
    }
    let ca = &pki.ca.cert_pem;
    let files = [
        (layout.pki("ca.crt"), ca.clone()),
        (layout.pki("ca.key"), pki.ca.key_pem.clone()),
        (layout.pki("apiserver.crt"), pki.apiserver_serving.cert_pem.clone()),
        (layout.pki("apiserver.key"), pki.apiserver_serving.key_pem.clone()),
        (layout.pki("apiserver-kubelet-client.crt"), pki.apiserver_kubelet_client.cert_pem.clone()),
        (layout.pki("apiserver-kubelet-client.key"), pki.apiserver_kubelet_client.key_pem.clone()),
        (layout.pki("service-account.key"), pki.service_account_private_key_pem.clone()),
        (layout.pki("service-account.pub"), pki.service_account_public_key_pem.clone()),
        (layout.kubeconfig("admin"), kubeconfig::render(server_url, ca, "admin", &pki.admin)),
        (layout.kubeconfig("scheduler"), kubeconfig::render(server_url, ca, "scheduler", &pki.scheduler)),
        (
            layout.kubeconfig("controller-manager"),
            kubeconfig::render(server_url, ca, "controller-manager", &pki.controller_manager),
        ),
    ];
    for (path, contents) in files {
        std::fs::write(&path, contents).map_err(|source| Error::WriteFile { path, source })?;
    }
    Ok(())
}

pub(super) async fn load_kube_config(path: &Path) -> Result<kube::Config, Error> {
    let load_error = |source| Error::LoadKubeconfig { path: path.to_path_buf(), source };
    let kubeconfig = Kubeconfig::read_from(path).map_err(load_error)?;
    kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.map_err(load_error)
}
