//! The conformance suite passes against the reference backend and fails, naming the broken
//! rule, against deliberately broken variants of it.

use std::time::Duration;

use provider_testkit::conformance::{self, Outcome, Report, Settings};
use provider_testkit::connect::Connection;
use provider_testkit::reference::{Faults, ReferenceBackend, ReferenceConfig};

async fn run_against(faults: Faults, only: Option<&str>) -> Report {
    let config = ReferenceConfig {
        start_delay: Duration::from_millis(50),
        restart_delay: Duration::from_millis(100),
        delete_delay: Duration::from_millis(50),
        faults,
        ..Default::default()
    };
    let backend = ReferenceBackend::new(config);
    let dir = tempfile::tempdir().expect("temp dir");
    let server = backend.serve_unix(&dir.path().join("provider.sock")).await.expect("serves");
    let connection = Connection::from_channel(server.endpoint().channel(None).expect("channel"));
    let settings = Settings {
        cluster_id: "conformance-test".into(),
        node_name: "node".into(),
        timeout: Duration::from_secs(10),
    };
    let report = conformance::run(connection, settings, only, |line| println!("{line}")).await;
    let leftovers: usize = backend
        .received_pods()
        .iter()
        .filter(|(scope, pod)| {
            let uid = pod.meta.as_ref().map(|m| m.uid.as_str()).unwrap_or_default();
            backend.pod(scope, uid).is_some_and(|state| !state.deleting)
        })
        .count();
    assert_eq!(leftovers, 0, "the suite deletes every pod it created");
    server.shutdown().await.expect("shuts down");
    report
}

fn failure(report: &Report, case: &str) -> String {
    match report.outcome(case) {
        Some(Outcome::Fail(message)) => message.clone(),
        other => panic!("case {case} should fail, it ended {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_backend_passes_every_case() {
    let report = run_against(Faults::default(), None).await;
    assert_eq!(report.failed(), 0, "{:?}", report.results);
    assert_eq!(report.skipped(), 0, "{:?}", report.results);
    assert_eq!(report.passed(), conformance::cases().len());
}

#[tokio::test]
async fn a_delete_that_is_not_idempotent_is_caught() {
    let faults = Faults { non_idempotent_delete: true, ..Default::default() };
    let report = run_against(faults, Some("delete_is_idempotent")).await;
    let message = failure(&report, "delete_is_idempotent");
    assert!(message.contains("DeletePod is idempotent") && message.contains("NotFound"), "{message}");
}

#[tokio::test]
async fn an_unscoped_list_is_caught() {
    let faults = Faults { unscoped_list: true, ..Default::default() };
    let report = run_against(faults, Some("list_pods_is_scoped")).await;
    let message = failure(&report, "list_pods_is_scoped");
    assert!(message.contains("ListPods returns only the caller's scope's pods"), "{message}");
}

#[tokio::test]
async fn a_watch_without_snapshot_is_caught() {
    let faults = Faults { watch_without_snapshot: true, ..Default::default() };
    let report = run_against(faults, Some("watch_snapshot_then_changes")).await;
    let message = failure(&report, "watch_snapshot_then_changes");
    assert!(message.contains("WatchPods sends the scope's snapshot"), "{message}");
}

#[tokio::test]
async fn a_wrong_exit_code_is_caught() {
    let faults = Faults { wrong_exit_code: true, ..Default::default() };
    let report = run_against(faults, Some("exec_exit_code_and_stderr")).await;
    let message = failure(&report, "exec_exit_code_and_stderr");
    assert!(message.contains("real exit code") && message.contains("expected exit code 3"), "{message}");
}
