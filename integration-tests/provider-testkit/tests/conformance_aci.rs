//! The conformance suite against aci-backend on the ACI emulator (process runtime, so logs
//! and exec carry the real output of local processes). Cases ACI cannot offer are skipped with
//! the reason aci-backend gives; none may fail.

use std::time::Duration;

use aci_backend::config::Flags;
use aci_backend::engine::Pace;
use aci_backend::serve::serve;
use aci_backend::startup::build;
use clap::Parser as _;
use provider_testkit::conformance::{self, Outcome, Settings};
use provider_testkit::connect::Connection;

fn flags(emulator: &aci_emulator::EmulatorHandle, socket: &std::path::Path, ca: &std::path::Path) -> Flags {
    let base = emulator.base_url().trim_end_matches('/').to_string();
    Flags::try_parse_from([
        "aci-backend".to_string(),
        format!("--listen=unix://{}", socket.display()),
        "--subscription-id=00000000-0000-0000-0000-000000000001".into(),
        "--resource-group=vk-conformance".into(),
        "--region=westeurope".into(),
        format!("--arm-endpoint={base}"),
        format!("--authority-host={base}"),
        format!("--ca-file={}", ca.display()),
        "--credential=client-secret".into(),
        "--tenant-id=00000000-0000-0000-0000-00000000000a".into(),
        "--client-id=backend".into(),
        "--client-secret=emulator-secret".into(),
    ])
    .expect("valid aci-backend flags")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aci_backend_on_the_emulator_passes_every_case_it_can_offer() {
    let config = aci_emulator::Config {
        tls: true,
        runtime: aci_emulator::Runtime::Process,
        ..aci_emulator::Config::fast()
    };
    let emulator = aci_emulator::Emulator::start(config).await.expect("emulator starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, emulator.ca_pem().expect("a TLS emulator has a CA")).expect("write CA");
    let socket = dir.path().join("provider.sock");
    let flags = flags(&emulator, &socket, &ca);
    let pace = Pace {
        unsettled: Duration::from_millis(200),
        settled: Duration::from_secs(2),
        list: Duration::from_millis(500),
    };
    let backend = build(&flags, pace).expect("backend builds");
    let engine = tokio::spawn(backend.engine.clone().run());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let endpoint = flags.listen.clone();
    let server = tokio::spawn(async move {
        serve(&endpoint, backend.provider, None, async {
            let _ = stopped.await;
        })
        .await
    });
    for _ in 0..200 {
        if socket.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    let connection = Connection::from_channel(flags.listen.channel(None).expect("channel"));
    let settings = Settings {
        cluster_id: "conformance-aci".into(),
        node_name: "virtual-kubelet-conformance-linux-westeurope".into(),
        timeout: Duration::from_secs(60),
        forbidden_cluster_id: None,
    };
    let report = conformance::run(connection, settings, None, |line| println!("{line}")).await;

    let _ = stop.send(());
    let _ = server.await;
    engine.abort();
    emulator.shutdown().await;

    assert_eq!(report.failed(), 0, "{:#?}", report.results);
    // What ACI cannot offer is skipped with a reason, never passed: previous logs (ACI keeps
    // none) and authentication (a Unix socket sidecar has no caller identities).
    for (case, outcome) in &report.results {
        if let Outcome::Skip(reason) = outcome {
            assert!(!reason.trim().is_empty(), "case {case} skipped without a reason");
        }
    }
    assert!(report.passed() >= conformance::cases().len() / 2, "{:#?}", report.results);
}
