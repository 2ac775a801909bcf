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
        tokens: [(
            "t0ken".to_owned(),
            vec!["conformance-test".to_owned(), "conformance-test-other".to_owned()],
        )]
        .into(),
        ..Default::default()
    };
    let backend = ReferenceBackend::new(config);
    let dir = tempfile::tempdir().expect("temp dir");
    let server = backend.serve_unix(&dir.path().join("provider.sock")).await.expect("serves");
    let connection = Connection::from_channel(server.endpoint().channel(None).expect("channel"))
        .with_token(Some("t0ken"))
        .expect("ascii token");
    let settings = Settings {
        cluster_id: "conformance-test".into(),
        node_name: "node".into(),
        timeout: Duration::from_secs(10),
        forbidden_cluster_id: Some("someone-elses-cluster".into()),
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

#[tokio::test]
async fn a_backend_without_authentication_is_caught_when_a_token_is_given() {
    let backend = ReferenceBackend::new(ReferenceConfig::default());
    let dir = tempfile::tempdir().expect("temp dir");
    let server = backend.serve_unix(&dir.path().join("open.sock")).await.expect("serves");
    let connection = Connection::from_channel(server.endpoint().channel(None).expect("channel"))
        .with_token(Some("anything"))
        .expect("ascii token");
    let settings = Settings {
        cluster_id: "c".into(),
        node_name: "n".into(),
        timeout: Duration::from_secs(5),
        forbidden_cluster_id: None,
    };
    let report =
        conformance::run(connection, settings, Some("authentication"), |line| println!("{line}")).await;
    let message = failure(&report, "authentication");
    assert!(
        message.contains("UNAUTHENTICATED without a valid token") && message.contains("with no token"),
        "{message}"
    );
    server.shutdown().await.expect("shuts down");
}

#[tokio::test]
async fn authentication_is_skipped_with_a_reason_when_nothing_can_be_tested() {
    let backend = ReferenceBackend::new(ReferenceConfig::default());
    let dir = tempfile::tempdir().expect("temp dir");
    let server = backend.serve_unix(&dir.path().join("open.sock")).await.expect("serves");
    let connection = Connection::from_channel(server.endpoint().channel(None).expect("channel"));
    let settings = Settings {
        cluster_id: "c".into(),
        node_name: "n".into(),
        timeout: Duration::from_secs(5),
        forbidden_cluster_id: None,
    };
    let report =
        conformance::run(connection, settings, Some("authentication"), |line| println!("{line}")).await;
    assert!(
        matches!(report.outcome("authentication"), Some(Outcome::Skip(reason)) if reason.contains("--token"))
    );
    assert_eq!(report.summary(), "0 passed, 0 failed, 1 skipped");
    server.shutdown().await.expect("shuts down");
}
