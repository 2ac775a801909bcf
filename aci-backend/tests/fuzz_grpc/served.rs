//! aci-backend serving the provider API against an in-process emulator, on a temp-dir Unix
//! socket (sidecar) or on TLS TCP with one token caller (remote), and fresh raw connections
//! to it for each case. Panics anywhere in the test process are counted.

use std::sync::Arc;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aci_backend::serve::{Callers, TcpSecurity};
use proptest::test_runner::TestCaseError;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::runtime::Runtime;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};
use vk_proto::v1::provider_client::ProviderClient;
use vk_proto::v1::{self};
use vk_proto::{Endpoint, Scope, scope::ScopeInterceptor};

use crate::support::emulated;

/// The scope every well-formed call acts for.
pub const CLUSTER: &str = "fuzz-cluster";
pub const NODE: &str = "fuzz-node";
/// The remote caller's bearer token (allowed for [`CLUSTER`]).
pub const TOKEN: &str = "fuzz-token";
/// Longest wait for any answer.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
    });
}

/// A connection to the server, plain (Unix socket) or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// Scope metadata and, for the remote server, the bearer token.
#[derive(Clone)]
pub struct Caller {
    scope: ScopeInterceptor,
    bearer: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>,
}

impl Interceptor for Caller {
    fn call(&mut self, request: tonic::Request<()>) -> tonic::Result<tonic::Request<()>> {
        let mut request = self.scope.call(request)?;
        if let Some(bearer) = &self.bearer {
            request.metadata_mut().insert("authorization", bearer.clone());
        }
        Ok(request)
    }
}

enum Listener {
    Unix(std::path::PathBuf),
    Tls { port: u16, connector: tokio_rustls::TlsConnector },
}

/// A running backend and a well-behaved client of it.
pub struct Served {
    pub runtime: Runtime,
    listener: Listener,
    client: ProviderClient<InterceptedService<Channel, Caller>>,
    _running: emulated::Running,
    _emulator: aci_emulator::EmulatorHandle,
    _dir: tempfile::TempDir,
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime")
}

async fn emulator() -> aci_emulator::EmulatorHandle {
    let config = aci_emulator::Config { tls: true, ..aci_emulator::Config::fast() };
    aci_emulator::Emulator::start(config).await.expect("emulator starts")
}

/// A CA, a server certificate for localhost signed by it, and the CA's DER.
fn server_pki() -> (String, String, String, Vec<u8>) {
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "fuzz CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("ca");
    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    let cert = params.signed_by(&key, &ca).expect("server cert");
    (ca.pem(), cert.pem(), key.serialize_pem(), ca.der().to_vec())
}

impl Served {
    /// The sidecar shape: a Unix socket in a temp dir.
    pub fn unix() -> Self {
        count_panics();
        let runtime = runtime();
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("provider.sock");
        let (emulator, running, client) = runtime.block_on(async {
            let emulator = emulator().await;
            let listen = format!("unix://{}", socket.display());
            let flags = emulated::flags(&emulator, dir.path(), &listen, &[]);
            let running = emulated::Running::start(flags, emulated::FAST, None).await;
            let channel = Endpoint::Unix(socket.clone()).channel(None).expect("channel");
            let caller = Caller {
                scope: ScopeInterceptor::new(&Scope::new(CLUSTER, NODE)).expect("scope"),
                bearer: None,
            };
            (emulator, running, ProviderClient::with_interceptor(channel, caller))
        });
        let served = Served {
            runtime,
            listener: Listener::Unix(socket),
            client,
            _running: running,
            _emulator: emulator,
            _dir: dir,
        };
        served.wait_until_serving();
        served
    }

    /// The remote shape: TLS TCP, one caller known by its bearer token.
    pub fn tls() -> Self {
        count_panics();
        vk_proto::tls::install_crypto_provider();
        let runtime = runtime();
        let dir = tempfile::tempdir().expect("temp dir");
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let (ca_pem, cert_pem, key_pem, ca_der) = server_pki();
        let callers = Callers::parse(
            &format!(
                r#"{{"callers":[{{"name":"fuzz","tokenSha256":"{}","clusters":["{CLUSTER}"]}}]}}"#,
                hex::encode(Sha256::digest(TOKEN.as_bytes()))
            ),
            "inline",
        )
        .expect("callers");
        let security = TcpSecurity {
            cert_pem: cert_pem.into_bytes(),
            key_pem: key_pem.into_bytes(),
            client_ca_pem: None,
            callers,
        };
        let (emulator, running, client) = runtime.block_on(async {
            let emulator = emulator().await;
            let flags = emulated::flags(&emulator, dir.path(), &format!("tcp://127.0.0.1:{port}"), &[]);
            let running = emulated::Running::start(flags, emulated::FAST, Some(security)).await;
            let tls = ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(&ca_pem))
                .domain_name("localhost");
            let channel = Endpoint::Tcp(format!("127.0.0.1:{port}")).channel(Some(tls)).expect("channel");
            let caller = Caller {
                scope: ScopeInterceptor::new(&Scope::new(CLUSTER, NODE)).expect("scope"),
                bearer: Some(format!("Bearer {TOKEN}").parse().expect("ascii")),
            };
            (emulator, running, ProviderClient::with_interceptor(channel, caller))
        });
        let mut roots = rustls::RootCertStore::empty();
        roots.add(rustls::pki_types::CertificateDer::from(ca_der)).expect("the CA");
        let mut config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec()];
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let served = Served {
            runtime,
            listener: Listener::Tls { port, connector },
            client,
            _running: running,
            _emulator: emulator,
            _dir: dir,
        };
        served.wait_until_serving();
        served
    }

    fn wait_until_serving(&self) {
        for _ in 0..100 {
            if self.still_serves().is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.still_serves().expect("the backend serves before the fuzz");
    }

    /// Whether this is the remote (TLS) server, whose calls need the token.
    pub fn remote(&self) -> bool {
        matches!(self.listener, Listener::Tls { .. })
    }

    /// A fresh connection (TLS handshake done for the remote server).
    pub async fn connect(&self) -> Result<Box<dyn Io>, String> {
        match &self.listener {
            Listener::Unix(socket) => {
                let stream =
                    tokio::net::UnixStream::connect(socket).await.map_err(|e| format!("connect: {e}"))?;
                Ok(Box::new(stream))
            }
            Listener::Tls { port, connector } => {
                let stream = tokio::net::TcpStream::connect(("127.0.0.1", *port))
                    .await
                    .map_err(|e| format!("connect: {e}"))?;
                let name = rustls::pki_types::ServerName::try_from("localhost").map_err(|e| e.to_string())?;
                let stream = connector.connect(name, stream).await.map_err(|e| format!("TLS: {e}"))?;
                Ok(Box::new(stream))
            }
        }
    }

    /// A well-behaved client on its own connection still gets answers.
    pub fn still_serves(&self) -> Result<(), TestCaseError> {
        let mut client = self.client.clone();
        let answer = self.runtime.block_on(async {
            tokio::time::timeout(ANSWER_TIMEOUT, client.list_pods(v1::ListPodsRequest::default())).await
        });
        match answer {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(status)) => Err(TestCaseError::fail(format!("ListPods failed: {status:?}"))),
            Err(_) => Err(TestCaseError::fail("ListPods got no answer in time")),
        }
    }

    /// Fails once anything in the process panicked.
    pub fn check_panics(&self) -> Result<(), TestCaseError> {
        match PANICS.load(Ordering::SeqCst) {
            0 => Ok(()),
            n => Err(TestCaseError::fail(format!("{n} panic(s) in the backend"))),
        }
    }
}
