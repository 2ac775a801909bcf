//! End to end, bad input: a corpus of pods ACI cannot run goes through the real apiserver,
//! node-agent, aci-backend and the emulator. Each ends Failed with reason `ProviderFailed`
//! and a message that names every problem with its field path; no container group is left
//! behind for any of them; the node stays Ready and a good pod created afterwards runs. Of the
//! names that do not fit ACI, a DNS name label longer than 63 characters is refused; a pod
//! name longer than a container group name is not bad input: the group name is cut to fit
//! (with a hash) and the pod runs.
//!
//! Needs the workspace binaries (`cargo build --workspace --bins`).

mod e2e_support;

use std::collections::BTreeMap;

use anyhow::{Context, Result, ensure};
use e2e_support::{E2e, READY_TIMEOUT, eventually, phase, pod_name_of_group};
use integration_tests::local_stack::{Os, node_is_ready};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::Api;
use kube::api::{ListParams, PostParams};
use serde_json::{Value, json};

/// One pod of the corpus, the words its message must contain, and how many problems (field
/// paths) it lists.
struct BadPod {
    name: &'static str,
    spec: Value,
    problems: Vec<&'static str>,
    count: usize,
}

fn container(name: &str) -> Value {
    json!({
        "name": name,
        "image": "busybox",
        "resources": { "requests": { "cpu": "10m", "memory": "16Mi" } },
    })
}

fn empty_dirs(count: usize) -> Vec<Value> {
    (0..count).map(|i| json!({ "name": format!("scratch-{i}"), "emptyDir": {} })).collect()
}

/// 64 KiB of environment that does not compress: 256 variables of 256 hex characters.
fn huge_env() -> Vec<Value> {
    (0..256)
        .map(|i| {
            let value: String = (0..8).map(|_| uuid::Uuid::new_v4().simple().to_string()).collect();
            json!({ "name": format!("BULK_{i}"), "value": value })
        })
        .collect()
}

fn corpus() -> Vec<BadPod> {
    let host_path = json!({ "name": "docker", "hostPath": { "path": "/var/run/docker.sock" } });
    let claim = json!({ "name": "data", "persistentVolumeClaim": { "claimName": "data" } });
    let many_containers: Vec<Value> = (0..61).map(|i| container(&format!("c{i}"))).collect();
    let mut big = container("big");
    big["resources"] = json!({ "requests": { "cpu": "8", "memory": "64Gi" } });
    let mut tcp_probe = container("main");
    tcp_probe["livenessProbe"] = json!({ "tcpSocket": { "port": 80 } });
    let mut combined_containers = vec![big.clone(), tcp_probe];
    combined_containers.extend((2..61).map(|i| container(&format!("c{i}"))));
    let mut combined_volumes = vec![host_path.clone(), claim.clone()];
    combined_volumes.extend(empty_dirs(21));
    let mut hungry_cpu = container("main");
    hungry_cpu["resources"] = json!({ "requests": { "cpu": "8" } });
    let mut hungry_memory = container("main");
    hungry_memory["resources"] = json!({ "requests": { "memory": "64Gi" } });
    let mut served = container("main");
    served["ports"] = json!([{ "containerPort": 80 }]);
    let mut chatty = container("main");
    chatty["env"] = Value::Array(huge_env());
    vec![
        BadPod {
            name: "host-path",
            spec: json!({ "containers": [container("main")], "volumes": [host_path] }),
            problems: vec!["spec.volumes[0].hostPath: host paths do not exist on ACI"],
            count: 1,
        },
        BadPod {
            name: "claim",
            spec: json!({ "containers": [container("main")], "volumes": [claim] }),
            problems: vec!["spec.volumes[0].persistentVolumeClaim: ACI cannot attach persistent volumes"],
            count: 1,
        },
        BadPod {
            name: "too-much-cpu",
            spec: json!({ "containers": [hungry_cpu] }),
            problems: vec!["resources.requests.cpu: the pod needs 8 cores in total"],
            count: 1,
        },
        BadPod {
            name: "too-much-memory",
            spec: json!({ "containers": [hungry_memory] }),
            problems: vec!["resources.requests.memory: the pod needs 68.8 GB in total"],
            count: 1,
        },
        BadPod {
            name: "sixty-one-containers",
            spec: json!({ "containers": many_containers }),
            problems: vec!["spec.containers: 61 containers; ACI allows at most 60 per group"],
            count: 1,
        },
        BadPod {
            name: "twenty-one-volumes",
            spec: json!({ "containers": [container("main")], "volumes": empty_dirs(21) }),
            problems: vec!["spec.volumes: the pod needs 21 ACI volumes", "ACI allows at most 20"],
            count: 1,
        },
        BadPod {
            name: "huge-env",
            spec: json!({ "containers": [chatty] }),
            problems: vec!["metadata: the pod is too large to keep in its container group's tags", "Secrets"],
            count: 1,
        },
        BadPod {
            name: "dns-label-too-long",
            spec: json!({
                "containers": [served],
                "annotations": { "virtualkubelet.io/dnsnamelabel": format!("web-{}", "x".repeat(70)) },
            }),
            problems: vec![
                "metadata.annotations[virtualkubelet.io/dnsnamelabel]: a DNS name label is 3 to 63",
            ],
            count: 1,
        },
        BadPod {
            name: "everything-wrong",
            spec: json!({ "containers": combined_containers, "volumes": combined_volumes }),
            problems: vec![
                "spec.containers: 61 containers",
                "spec.containers[1].livenessProbe.tcpSocket: ACI has no TCP probes",
                "spec.volumes[0].hostPath",
                "spec.volumes[1].persistentVolumeClaim",
                "spec.volumes: the pod needs 21 ACI volumes",
                "requests.cpu: the pod needs",
                "requests.memory: the pod needs",
            ],
            count: 7,
        },
    ]
}

/// A pod bound straight to `node` (the scheduler would refuse pods bigger than the node);
/// `annotations` in `spec` move to the metadata.
fn bound_pod(name: &str, node: &str, mut spec: Value) -> Result<Pod> {
    spec["nodeName"] = json!(node);
    spec["automountServiceAccountToken"] = json!(false);
    spec["restartPolicy"] = json!("Never");
    spec["tolerations"] = json!([{ "key": "virtual-kubelet.io/provider", "operator": "Exists" }]);
    let mut metadata = json!({ "name": name });
    if let Some(annotations) = spec.as_object_mut().and_then(|spec| spec.remove("annotations")) {
        metadata["annotations"] = annotations;
    }
    let pod = json!({ "apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec });
    Ok(serde_json::from_value(pod)?)
}

fn good_spec() -> Value {
    json!({ "containers": [{ "name": "main", "image": "busybox", "command": ["/bin/sh", "-c", "sleep 3600"] }] })
}

fn reason_and_message(pod: &Pod) -> (Option<&str>, &str) {
    let status = pod.status.as_ref();
    (status.and_then(|s| s.reason.as_deref()), status.and_then(|s| s.message.as_deref()).unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_aci_cannot_run_fail_with_every_problem_named_and_leave_nothing_behind() -> Result<()> {
    let e2e = E2e::start("e2e-bad-input").await?;
    let mut connector = e2e.sidecar("vk-e2e-bad", Os::Linux).await?;
    let node = connector.agent.node_name().to_string();
    let pods = e2e.pods();
    let corpus = corpus();
    for bad in &corpus {
        pods.create(&PostParams::default(), &bound_pod(bad.name, &node, bad.spec.clone())?).await?;
    }
    // A name longer than any container group name: cut to fit, so the pod runs.
    let long_name = format!("long-{}", "n".repeat(240));
    pods.create(&PostParams::default(), &bound_pod(&long_name, &node, good_spec())?).await?;

    let failed: BTreeMap<String, Pod> = eventually("every bad pod Failed", READY_TIMEOUT, || async {
        let mut failed = BTreeMap::new();
        for bad in &corpus {
            let pod = pods.get(bad.name).await?;
            if phase(&pod) != Some("Failed") {
                return Ok(None);
            }
            failed.insert(bad.name.to_string(), pod);
        }
        Ok(Some(failed))
    })
    .await?;
    for bad in &corpus {
        let (reason, message) = reason_and_message(&failed[bad.name]);
        ensure!(reason == Some("ProviderFailed"), "{}: reason {reason:?} ({message})", bad.name);
        for problem in &bad.problems {
            ensure!(message.contains(problem), "{}: {problem:?} missing from {message:?}", bad.name);
        }
        let listed = 1 + message.matches("; spec.").count() + message.matches("; metadata").count();
        ensure!(
            listed == bad.count,
            "{}: {listed} problems listed, {} expected: {message}",
            bad.name,
            bad.count
        );
        println!("{:<22} {message}", bad.name);
    }

    // `kubectl describe` shows the same message as a Warning Event.
    let events: Api<Event> = Api::namespaced(e2e.client.clone(), &e2e.namespace);
    let described = eventually("a ProviderFailed event for host-path", READY_TIMEOUT, || async {
        let listed = events.list(&ListParams::default().fields("involvedObject.name=host-path")).await?;
        Ok(listed.items.into_iter().find(|event| event.reason.as_deref() == Some("ProviderFailed")))
    })
    .await?;
    ensure!(described.type_.as_deref() == Some("Warning"), "a Warning event: {described:?}");
    ensure!(
        described.message.as_deref().is_some_and(|m| m.contains("host paths do not exist on ACI")),
        "the event says why: {described:?}"
    );

    let long = eventually("the long-named pod Running", READY_TIMEOUT, || async {
        let pod = pods.get(&long_name).await?;
        Ok((phase(&pod) == Some("Running")).then_some(pod))
    })
    .await?;
    ensure!(long.metadata.name.as_deref() == Some(long_name.as_str()));
    let groups = e2e.groups().await?;
    ensure!(groups.len() == 1, "only the long-named pod has a group: {groups:?}");
    ensure!(pod_name_of_group(&groups[0]) == long_name, "the group carries the whole pod name");
    ensure!(groups[0].name.len() <= 63, "group name {:?} fits ACI", groups[0].name);

    // The refusals stay refusals: no group appears later, the pods stay Failed.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    ensure!(e2e.groups().await?.len() == 1, "no group appeared for a refused pod");
    for bad in &corpus {
        let pod = pods.get(bad.name).await?;
        ensure!(phase(&pod) == Some("Failed"), "{} left Failed: {:?}", bad.name, pod.status);
    }

    let node_object = e2e_support::node(&e2e.client, &node).await?.context("the node exists")?;
    ensure!(node_is_ready(&node_object), "the node stays Ready");
    pods.create(&PostParams::default(), &bound_pod("good-after", &node, good_spec())?).await?;
    eventually("a good pod created afterwards Running", READY_TIMEOUT, || async {
        let pod = pods.get("good-after").await?;
        Ok((phase(&pod) == Some("Running")).then_some(()))
    })
    .await?;

    e2e.kubectl(&["delete", "pods", "--all", "--wait=false"]).await?;
    e2e.groups_match_pods(0).await?;
    connector.stop().await?;
    e2e.finish().await
}
