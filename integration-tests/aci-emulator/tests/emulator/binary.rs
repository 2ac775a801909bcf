//! The `aci-emulator` binary: documented flags, loopback only, TLS with its CA written to a file.

use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::{AsyncBufReadExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_aci-emulator");

#[tokio::test]
async fn help_documents_the_flags() {
    let output = tokio::process::Command::new(BIN).arg("--help").output().await.expect("the binary runs");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--listen",
        "--runtime",
        "--tls",
        "--tls-ca-out",
        "--fault",
        "--time-scale",
        "--no-quotas",
        "--no-arm-throttling",
    ] {
        assert!(help.contains(flag), "--help mentions {flag}:\n{help}");
    }
}

#[tokio::test]
async fn a_non_loopback_address_is_refused() {
    let output = tokio::process::Command::new(BIN)
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .await
        .expect("the binary runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("loopback"));
}

#[tokio::test]
async fn the_binary_serves_https_and_writes_its_ca() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let ca_path = dir.path().join("ca.pem");
    let mut child = tokio::process::Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--tls", "--tls-ca-out"])
        .arg(&ca_path)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let base = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the base URL is printed in time")
        .expect("stdout is readable")
        .expect("a first line");
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let ca = std::fs::read(&ca_path).expect("the CA file is written");
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).expect("a PEM certificate")])
        .build()
        .expect("an HTTPS client");
    let health = http.get(format!("{base}/_emulator/health")).send().await.expect("the emulator answers");
    assert_eq!(health.status(), StatusCode::OK);
    let unauthenticated = http.get(format!("{base}/subscriptions/s/providers/Microsoft.ContainerInstance/containerGroups?api-version=2025-09-01")).send().await.expect("answer");
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    child.kill().await.expect("the emulator stops");
}
