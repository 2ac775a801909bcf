//! Every vkctl command, run as the built binary against an in-process reference backend.

use std::process::Stdio;
use std::time::Duration;

use provider_testkit::reference::{ReferenceBackend, ReferenceConfig, ServerHandle};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use vk_proto::Scope;
use vk_proto::v1::PodPhase;

const CLUSTER: &str = "vkctl-test";
const NODE: &str = "node-1";

struct Setup {
    backend: ReferenceBackend,
    server: ServerHandle,
    dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let config = ReferenceConfig { start_delay: Duration::from_millis(20), ..Default::default() };
    let backend = ReferenceBackend::new(config);
    let dir = tempfile::tempdir().expect("temp dir");
    let server = backend.serve_unix(&dir.path().join("provider.sock")).await.expect("serves");
    Setup { backend, server, dir }
}

struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Setup {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_vkctl"));
        command
            .arg("--backend")
            .arg(self.server.endpoint().to_string())
            .args(["--cluster-id", CLUSTER, "--node-name", NODE])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    async fn run(&self, args: &[&str], stdin: &str) -> Ran {
        let mut child = self.command(args).spawn().expect("vkctl starts");
        let mut input = child.stdin.take().expect("stdin piped");
        input.write_all(stdin.as_bytes()).await.expect("stdin written");
        drop(input);
        let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
            .await
            .expect("vkctl finishes in time")
            .expect("vkctl output");
        Ran {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    fn manifest(&self, name: &str, body: &str) -> String {
        let path = self.dir.path().join(format!("{name}.yaml"));
        std::fs::write(&path, body).expect("manifest written");
        path.display().to_string()
    }

    async fn create(&self, name: &str, script: &str) -> String {
        let yaml = format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: demo\nspec:\n  containers:\n  - name: app\n    image: busybox\n    env:\n    - {{name: GREETING, value: hi there}}\n    command: [sh, -c, \"{script}\"]\n"
        );
        let path = self.manifest(name, &yaml);
        let ran = self.run(&["create", "-f", &path, "-o", "json"], "").await;
        assert_eq!(ran.code, Some(0), "create failed: {}", ran.stderr);
        let json: serde_json::Value = serde_json::from_str(&ran.stdout).expect("create prints JSON");
        let uid = json["pod"]["uid"].as_str().expect("the created pod's uid").to_owned();
        self.until_running(&uid).await;
        uid
    }

    async fn until_running(&self, uid: &str) {
        let scope = Scope::new(CLUSTER, NODE);
        for _ in 0..800 {
            let state = self.backend.pod(&scope, uid);
            if state.and_then(|s| s.status).is_some_and(|s| s.phase == PodPhase::Running as i32) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("pod {uid} never ran");
    }
}

#[tokio::test]
async fn create_list_get_and_delete_a_pod() {
    let s = setup().await;
    let uid = s.create("web", "sleep infinity").await;
    let received = s.backend.received_pods();
    let env = &received[0].1.spec.as_ref().expect("spec").containers[0].env;
    assert_eq!((env[0].name.as_str(), env[0].value.as_str()), ("GREETING", "hi there"));

    let list = s.run(&["list"], "").await;
    assert!(list.stdout.starts_with("UID"), "{}", list.stdout);
    assert!(
        list.stdout.lines().any(|l| l.contains(&uid) && l.contains("web") && l.contains("Running")),
        "{}",
        list.stdout
    );

    let get = s.run(&["get", &uid, "-o", "json"], "").await;
    let json: serde_json::Value = serde_json::from_str(&get.stdout).expect("get prints JSON");
    assert_eq!(json["status"]["phase"], "Running");
    assert_eq!(json["namespace"], "demo");

    let deleted = s.run(&["delete", &uid], "").await;
    assert_eq!(deleted.code, Some(0));
    assert!(deleted.stdout.contains(&format!("pod {uid} delet")), "{}", deleted.stdout);
    let scope = Scope::new(CLUSTER, NODE);
    for _ in 0..400 {
        if s.backend.pod(&scope, &uid).is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let gone = s.run(&["get", &uid], "").await;
    assert_eq!(gone.code, Some(1));
    assert!(gone.stderr.contains("GetPod failed: NotFound"), "{}", gone.stderr);
}

#[tokio::test]
async fn create_refuses_a_manifest_with_references() {
    let s = setup().await;
    let path = s.manifest(
        "refs",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: refs}\nspec:\n  containers:\n  - name: app\n    image: busybox\n    env:\n    - name: KEY\n      valueFrom: {secretKeyRef: {name: s, key: k}}\n",
    );
    let ran = s.run(&["create", "-f", &path], "").await;
    assert_eq!(ran.code, Some(1));
    assert!(ran.stderr.contains("spec.containers[0].env[0].valueFrom"), "{}", ran.stderr);
    assert!(s.backend.received_pods().is_empty());
}

#[tokio::test]
async fn logs_print_the_container_output_with_options_and_follow() {
    let s = setup().await;
    let uid = s.create("talker", "echo one; echo two; sleep infinity").await;
    let scope = Scope::new(CLUSTER, NODE);
    for _ in 0..400 {
        if s.backend.container_log(&scope, &uid, "app").is_some_and(|log| log == "one\ntwo\n") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(s.run(&["logs", &uid], "").await.stdout, "one\ntwo\n");
    assert_eq!(s.run(&["logs", &uid, "--tail", "1"], "").await.stdout, "two\n");
    assert_eq!(s.run(&["logs", &uid, "--tail", "0"], "").await.stdout, "");
    let stamped = s.run(&["logs", &uid, "--timestamps", "-c", "app"], "").await.stdout;
    assert!(
        stamped
            .lines()
            .all(|l| l.split_once(' ').is_some_and(|(t, _)| chrono::DateTime::parse_from_rfc3339(t).is_ok()))
    );

    let mut follow = s.command(&["logs", "-f", &uid]).spawn().expect("vkctl starts");
    let mut lines = BufReader::new(follow.stdout.take().expect("stdout")).lines();
    for expected in ["one", "two"] {
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await.expect("in time");
        assert_eq!(line.expect("readable").as_deref(), Some(expected));
    }
    let still_following = tokio::time::timeout(Duration::from_millis(500), follow.wait()).await.is_err();
    assert!(still_following, "logs -f keeps streaming while the container runs");
    follow.kill().await.expect("stopped");
}

#[tokio::test]
async fn exec_passes_output_stdin_and_the_exit_code_through() {
    let s = setup().await;
    let uid = s.create("shell", "sleep infinity").await;
    let ran = s.run(&["exec", &uid, "--", "sh", "-c", "echo out; echo err >&2; exit 3"], "").await;
    assert_eq!((ran.code, ran.stdout.as_str(), ran.stderr.as_str()), (Some(3), "out\n", "err\n"));
    let cat = s.run(&["exec", "-i", &uid, "--", "cat"], "typed input\n").await;
    assert_eq!((cat.code, cat.stdout.as_str()), (Some(0), "typed input\n"));
    let env = s.run(&["exec", &uid, "-c", "app", "--", "env"], "").await;
    assert_eq!(env.stdout, "GREETING=hi there\n");
}

#[tokio::test]
async fn watch_prints_the_snapshot_then_changes() {
    let s = setup().await;
    let uid = s.create("watched", "sleep infinity").await;
    let mut watch =
        s.command(&["watch", "-o", "json", "--bookmark-seconds", "1"]).spawn().expect("vkctl starts");
    let mut lines = BufReader::new(watch.stdout.take().expect("stdout")).lines();
    let mut next = async || -> serde_json::Value {
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await.expect("in time");
        serde_json::from_str(&line.expect("readable").expect("a line")).expect("JSON line")
    };
    let initial = next().await;
    assert_eq!(
        (initial["type"].as_str(), initial["object"]["uid"].as_str()),
        (Some("initial"), Some(uid.as_str()))
    );
    let complete = next().await;
    assert_eq!(
        (complete["type"].as_str(), complete["object"]["podCount"].as_u64()),
        (Some("snapshot_complete"), Some(1))
    );
    assert_eq!(next().await["type"], "bookmark");
    watch.kill().await.expect("stopped");
}

#[tokio::test]
async fn node_info_shows_capacity_and_capabilities() {
    let s = setup().await;
    let json = s.run(&["node-info", "-o", "json"], "").await;
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(value["capacity"]["cpuMillis"], 64_000);
    assert_eq!(value["capabilities"]["execExitCodes"], true);
    let table = s.run(&["node-info"], "").await;
    assert!(table.stdout.contains("region") && table.stdout.contains("reference-1"), "{}", table.stdout);
    let stats = s.run(&["stats"], "").await;
    let value: serde_json::Value = serde_json::from_str(&stats.stdout).expect("JSON");
    assert_eq!(value["node"]["nodeName"], NODE);
}

#[tokio::test]
async fn an_unreachable_backend_is_reported() {
    let s = setup().await;
    let missing = s.dir.path().join("missing.sock");
    let mut command = Command::new(env!("CARGO_BIN_EXE_vkctl"));
    let output = command
        .arg("--backend")
        .arg(format!("unix://{}", missing.display()))
        .arg("list")
        .output()
        .await
        .expect("vkctl runs");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("ListPods failed: Unavailable"));
}
