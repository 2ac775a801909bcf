//! The shipped binaries together: `reference-backend` serving over TLS TCP with a bearer
//! token, checked by `provider-conformance`, and a deliberately broken backend failing it.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Starts `reference-backend` with `args` and returns it with the address it prints.
async fn start_backend(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reference-backend"))
        .args(args)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("reference-backend starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout piped")).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the backend says where it listens")
        .expect("readable")
        .expect("a line");
    let address = line.strip_prefix("listening on ").expect("the listening line").to_owned();
    (child, address)
}

async fn conformance(args: &[&str]) -> (Option<i32>, String) {
    let output = tokio::time::timeout(
        Duration::from_secs(300),
        Command::new(env!("CARGO_BIN_EXE_provider-conformance")).args(args).kill_on_drop(true).output(),
    )
    .await
    .expect("the suite finishes")
    .expect("provider-conformance runs");
    (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned())
}

fn write_pki(dir: &Path) {
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "binaries test CA");
    ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("CA");
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .expect("params")
        .signed_by(&key, &ca)
        .expect("server certificate");
    std::fs::write(dir.join("ca.pem"), ca.pem()).expect("ca written");
    std::fs::write(dir.join("server.pem"), cert.pem()).expect("cert written");
    std::fs::write(dir.join("server-key.pem"), key.serialize_pem()).expect("key written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_passes_against_the_reference_backend_over_tls_with_a_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_pki(dir.path());
    let path = |name: &str| dir.path().join(name).display().to_string();
    let (mut backend, address) = start_backend(&[
        "--listen",
        "tcp://127.0.0.1:0",
        "--tls-cert",
        &path("server.pem"),
        "--tls-key",
        &path("server-key.pem"),
        "--token",
        "s3cret=allowed-cluster",
    ])
    .await;
    let tls = ["--ca", &path("ca.pem"), "--tls-server-name", "localhost"];
    let mut args = vec![
        "--backend",
        &address,
        "--token",
        "s3cret",
        "--cluster-id",
        "allowed-cluster",
        "--timeout-seconds",
        "20",
    ];
    args.extend(tls);
    let (code, stdout) = conformance(&args).await;
    let total = stdout.lines().filter(|l| l.starts_with("PASS ")).count();
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.trim_end().ends_with(&format!("{total} passed, 0 failed, 0 skipped")), "{stdout}");

    let mut denied = vec![
        "--backend",
        &address,
        "--token",
        "s3cret",
        "--cluster-id",
        "other-cluster",
        "--only",
        "node_info",
    ];
    denied.extend(tls);
    let (code, stdout) = conformance(&denied).await;
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("FAIL node_info") && stdout.contains("PermissionDenied"), "{stdout}");
    backend.kill().await.expect("backend stopped");
}

#[tokio::test]
async fn conformance_fails_against_a_backend_with_a_wrong_exit_code() {
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = format!("unix://{}", dir.path().join("broken.sock").display());
    let (mut backend, address) = start_backend(&["--listen", &socket, "--fault", "wrong-exit-code"]).await;
    assert_eq!(address, socket);
    let (code, stdout) =
        conformance(&["--backend", &address, "--only", "exec_", "--timeout-seconds", "20"]).await;
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL exec_exit_code_and_stderr: Exec reports the command's real exit code"),
        "{stdout}"
    );
    assert!(stdout.trim_end().ends_with("2 passed, 3 failed, 0 skipped"), "{stdout}");
    backend.kill().await.expect("backend stopped");
}

#[tokio::test]
async fn the_cases_can_be_listed_without_a_backend() {
    let (code, stdout) = conformance(&["--list"]).await;
    assert_eq!(code, Some(0));
    let names: Vec<&str> = stdout.lines().collect();
    assert_eq!(names.len(), provider_testkit::conformance::cases().len());
    assert!(names.contains(&"delete_is_idempotent") && names.contains(&"watch_snapshot_then_changes"));
}
