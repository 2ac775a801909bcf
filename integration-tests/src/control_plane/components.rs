//! The command lines of etcd and the three Kubernetes 1.20 components, and the files they use.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::binaries::Binaries;
use super::process::ProcessSpec;

/// `--service-cluster-ip-range`; its first address is the `kubernetes` Service.
pub const SERVICE_CLUSTER_IP_RANGE: &str = "10.0.0.0/24";

/// The service-account token issuer (also the API audience).
pub const SERVICE_ACCOUNT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// Loopback ports, all distinct, picked by binding to port 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    pub etcd_client: u16,
    pub etcd_peer: u16,
    pub apiserver: u16,
    pub scheduler: u16,
    pub controller_manager: u16,
}

impl Ports {
    pub fn pick() -> std::io::Result<Self> {
        // Hold every listener until all ports are chosen so they differ.
        let listeners = (0..5)
            .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
            .collect::<std::io::Result<Vec<_>>>()?;
        let ports = listeners
            .iter()
            .map(|l| l.local_addr().map(|a| a.port()))
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Self {
            etcd_client: ports[0],
            etcd_peer: ports[1],
            apiserver: ports[2],
            scheduler: ports[3],
            controller_manager: ports[4],
        })
    }
}

/// Paths inside a control plane's state directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub fn pki(&self, file: &str) -> PathBuf {
        self.root.join("pki").join(file)
    }
    pub fn kubeconfig(&self, user: &str) -> PathBuf {
        self.root.join("kubeconfig").join(format!("{user}.kubeconfig"))
    }
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }
    pub fn log(&self, component: &str) -> PathBuf {
        self.logs().join(format!("{component}.log"))
    }
    pub fn etcd_data(&self) -> PathBuf {
        self.root.join("etcd")
    }
    pub fn cert_dir(&self, component: &str) -> PathBuf {
        self.root.join("serving").join(component)
    }
    /// Every directory the components expect to exist.
    pub fn directories(&self) -> Vec<PathBuf> {
        let parent = |path: PathBuf| path.parent().map(Path::to_path_buf).unwrap_or_default();
        vec![
            parent(self.pki("ca.crt")),
            parent(self.kubeconfig("admin")),
            self.logs(),
            self.cert_dir("kube-scheduler"),
            self.cert_dir("kube-controller-manager"),
        ]
    }
}

/// Extra flags appended to a component's command line (later flags win).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtraArgs {
    pub apiserver: Vec<String>,
    pub controller_manager: Vec<String>,
    pub scheduler: Vec<String>,
}

fn path(p: PathBuf) -> String {
    p.display().to_string()
}

fn spec(name: &str, program: &Path, args: Vec<String>, extra: &[String], layout: &Layout) -> ProcessSpec {
    ProcessSpec {
        name: name.into(),
        program: program.to_path_buf(),
        args: args.into_iter().chain(extra.iter().cloned()).collect(),
        log_path: layout.log(name),
        linger: Duration::ZERO,
        stop_grace: ProcessSpec::DEFAULT_STOP_GRACE,
    }
}

pub fn etcd(binaries: &Binaries, layout: &Layout, ports: &Ports) -> ProcessSpec {
    let client = format!("http://127.0.0.1:{}", ports.etcd_client);
    let peer = format!("http://127.0.0.1:{}", ports.etcd_peer);
    let args = vec![
        "--name=default".into(),
        format!("--data-dir={}", path(layout.etcd_data())),
        format!("--listen-client-urls={client}"),
        format!("--advertise-client-urls={client}"),
        format!("--listen-peer-urls={peer}"),
        format!("--initial-advertise-peer-urls={peer}"),
        format!("--initial-cluster=default={peer}"),
        "--logger=zap".into(),
        "--log-level=warn".into(),
    ];
    // The apiserver removes itself from the `kubernetes` endpoints on SIGTERM and hangs
    // without etcd, so etcd stays up a little longer when the test process ends.
    ProcessSpec { linger: Duration::from_secs(5), ..spec("etcd", &binaries.etcd, args, &[], layout) }
}

pub fn apiserver(binaries: &Binaries, layout: &Layout, ports: &Ports, extra: &ExtraArgs) -> ProcessSpec {
    let args = vec![
        format!("--etcd-servers=http://127.0.0.1:{}", ports.etcd_client),
        "--bind-address=127.0.0.1".into(),
        "--advertise-address=127.0.0.1".into(),
        format!("--secure-port={}", ports.apiserver),
        "--insecure-port=0".into(),
        format!("--tls-cert-file={}", path(layout.pki("apiserver.crt"))),
        format!("--tls-private-key-file={}", path(layout.pki("apiserver.key"))),
        format!("--client-ca-file={}", path(layout.pki("ca.crt"))),
        format!("--service-account-issuer={SERVICE_ACCOUNT_ISSUER}"),
        format!("--api-audiences={SERVICE_ACCOUNT_ISSUER}"),
        format!("--service-account-key-file={}", path(layout.pki("service-account.pub"))),
        format!("--service-account-signing-key-file={}", path(layout.pki("service-account.key"))),
        format!("--kubelet-client-certificate={}", path(layout.pki("apiserver-kubelet-client.crt"))),
        format!("--kubelet-client-key={}", path(layout.pki("apiserver-kubelet-client.key"))),
        "--kubelet-preferred-address-types=InternalIP".into(),
        "--authorization-mode=Node,RBAC".into(),
        format!("--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}"),
        "--allow-privileged=true".into(),
        "--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultTolerationSeconds,\
         NodeRestriction,Priority,ResourceQuota"
            .into(),
        "--profiling=false".into(),
    ];
    // On SIGTERM the apiserver waits up to 60 s for open watches (the scheduler's, the
    // controller-manager's, node agents') to end; its state is in etcd, so cut that short.
    ProcessSpec {
        stop_grace: Duration::from_secs(2),
        ..spec("kube-apiserver", &binaries.kube_apiserver, args, &extra.apiserver, layout)
    }
}

pub fn controller_manager(
    binaries: &Binaries,
    layout: &Layout,
    ports: &Ports,
    extra: &ExtraArgs,
) -> ProcessSpec {
    let args = vec![
        format!("--kubeconfig={}", path(layout.kubeconfig("controller-manager"))),
        "--bind-address=127.0.0.1".into(),
        format!("--secure-port={}", ports.controller_manager),
        "--port=0".into(),
        format!("--cert-dir={}", path(layout.cert_dir("kube-controller-manager"))),
        format!("--service-account-private-key-file={}", path(layout.pki("service-account.key"))),
        format!("--root-ca-file={}", path(layout.pki("ca.crt"))),
        format!("--cluster-signing-cert-file={}", path(layout.pki("ca.crt"))),
        format!("--cluster-signing-key-file={}", path(layout.pki("ca.key"))),
        "--use-service-account-credentials=true".into(),
        "--controllers=*,-nodeipam".into(),
        "--leader-elect=false".into(),
        "--profiling=false".into(),
    ];
    spec(
        "kube-controller-manager",
        &binaries.kube_controller_manager,
        args,
        &extra.controller_manager,
        layout,
    )
}

pub fn scheduler(binaries: &Binaries, layout: &Layout, ports: &Ports, extra: &ExtraArgs) -> ProcessSpec {
    let args = vec![
        format!("--kubeconfig={}", path(layout.kubeconfig("scheduler"))),
        "--bind-address=127.0.0.1".into(),
        format!("--secure-port={}", ports.scheduler),
        "--port=0".into(),
        format!("--cert-dir={}", path(layout.cert_dir("kube-scheduler"))),
        "--leader-elect=false".into(),
        "--profiling=false".into(),
    ];
    spec("kube-scheduler", &binaries.kube_scheduler, args, &extra.scheduler, layout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> (Binaries, Layout, Ports) {
        let binaries = Binaries {
            etcd: "/bin/etcd".into(),
            kube_apiserver: "/bin/kube-apiserver".into(),
            kube_scheduler: "/bin/kube-scheduler".into(),
            kube_controller_manager: "/bin/kube-controller-manager".into(),
        };
        let ports = Ports::pick().expect("free ports");
        (binaries, Layout { root: "/state".into() }, ports)
    }

    #[test]
    fn picked_ports_are_distinct() {
        let ports = Ports::pick().expect("free ports");
        let mut all = vec![
            ports.etcd_client,
            ports.etcd_peer,
            ports.apiserver,
            ports.scheduler,
            ports.controller_manager,
        ];
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 5);
    }

    #[test]
    fn the_apiserver_talks_to_etcd_and_serves_on_its_port() {
        let (binaries, layout, ports) = fixtures();
        let spec = apiserver(&binaries, &layout, &ports, &ExtraArgs::default());
        assert!(spec.args.contains(&format!("--etcd-servers=http://127.0.0.1:{}", ports.etcd_client)));
        assert!(spec.args.contains(&format!("--secure-port={}", ports.apiserver)));
        assert!(spec.args.contains(&"--authorization-mode=Node,RBAC".to_string()));
        assert_eq!(spec.log_path, PathBuf::from("/state/logs/kube-apiserver.log"));
    }

    #[test]
    fn extra_arguments_come_last_so_they_win() {
        let (binaries, layout, ports) = fixtures();
        let extra = ExtraArgs {
            controller_manager: vec!["--node-monitor-grace-period=10s".into()],
            ..ExtraArgs::default()
        };
        let spec = controller_manager(&binaries, &layout, &ports, &extra);
        assert_eq!(spec.args.last().map(String::as_str), Some("--node-monitor-grace-period=10s"));
        assert!(spec.args.contains(&"--controllers=*,-nodeipam".to_string()));
    }

    #[test]
    fn no_component_uses_its_default_well_known_port() {
        let (binaries, layout, ports) = fixtures();
        let extra = ExtraArgs::default();
        for spec in [
            scheduler(&binaries, &layout, &ports, &extra),
            controller_manager(&binaries, &layout, &ports, &extra),
        ] {
            assert!(spec.args.contains(&"--port=0".to_string()), "{}", spec.name);
            assert!(spec.args.iter().any(|a| a.starts_with("--secure-port=")), "{}", spec.name);
        }
    }
}
