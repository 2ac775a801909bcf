//! The simulated lifecycle under each restart policy, stop/start/restart, and the process runtime.

use aci_emulator::{Config, GroupRef, Runtime};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::arm_client::{Arm, SUB, container_state, group_body};

fn events(group: &Value) -> Vec<String> {
    group["properties"]["containers"][0]["properties"]["instanceView"]["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["name"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_new_group_goes_from_pending_to_running_with_pull_events() {
    let arm = Arm::start(Config { pending_delay_ms: 30, pull_delay_ms: 400, ..Config::fast() }).await;
    let created = arm.put_group("rg", "g", group_body("nginx", "Always")).await;
    assert_eq!(created.body["properties"]["provisioningState"], "Pending");
    assert_eq!(container_state(&created.body).0, "Waiting");
    let creating = arm.wait_for("rg", "g", |g| g["properties"]["provisioningState"] == "Creating").await;
    assert_eq!(events(&creating), ["Pulling"]);
    let running = arm.wait_for("rg", "g", |g| container_state(g).0 == "Running").await;
    assert_eq!(running["properties"]["provisioningState"], "Succeeded");
    assert_eq!(running["properties"]["instanceView"]["state"], "Running");
    assert_eq!(events(&running), ["Pulling", "Pulled", "Started"]);
    let view = &running["properties"]["containers"][0]["properties"]["instanceView"];
    assert!(view["currentState"]["startTime"].as_str().is_some());
    assert_eq!(view["events"][0]["count"], 1);
}

#[tokio::test]
async fn always_restarts_even_after_success_and_counts_restarts() {
    let arm = Arm::fast().await;
    arm.put_group("rg", "g", group_body("exit-0-after-0s", "Always")).await;
    let group = arm.wait_for("rg", "g", |g| container_state(g).1 >= 2).await;
    let view = &group["properties"]["containers"][0]["properties"]["instanceView"];
    assert_eq!(view["previousState"]["state"], "Terminated");
    assert_eq!(view["previousState"]["exitCode"], 0);
    assert!(events(&group).contains(&"BackOff".to_owned()));
    let backoff = view["events"].as_array().and_then(|e| e.iter().find(|e| e["name"] == "BackOff").cloned());
    assert!(
        backoff.is_some_and(|b| b["count"].as_i64().is_some_and(|c| c >= 2)),
        "repeated events are counted"
    );
}

#[tokio::test]
async fn on_failure_restarts_a_crash_loop_but_not_a_success() {
    let arm = Arm::fast().await;
    arm.put_group("rg", "crash", group_body("crash-loop", "OnFailure")).await;
    let crashing = arm.wait_for("rg", "crash", |g| container_state(g).1 >= 2).await;
    let previous = &crashing["properties"]["containers"][0]["properties"]["instanceView"]["previousState"];
    assert_eq!(previous["exitCode"], 1);
    assert_eq!(previous["detailStatus"], "Error");
    arm.put_group("rg", "done", group_body("exit-0-after-0s", "OnFailure")).await;
    let done = arm.wait_for("rg", "done", |g| g["properties"]["instanceView"]["state"] == "Succeeded").await;
    assert_eq!(container_state(&done), ("Terminated".to_owned(), 0, Some(0)));
}

#[tokio::test]
async fn never_leaves_a_failed_container_terminated() {
    let arm = Arm::fast().await;
    arm.put_group("rg", "g", group_body("exit-3-after-0s", "Never")).await;
    let group = arm.wait_for("rg", "g", |g| g["properties"]["instanceView"]["state"] == "Failed").await;
    assert_eq!(container_state(&group), ("Terminated".to_owned(), 0, Some(3)));
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert_eq!(container_state(&arm.get_group("rg", "g").await.body).1, 0, "no restart under Never");
}

#[tokio::test]
async fn an_exit_set_through_the_admin_api_ends_a_running_container() {
    let arm = Arm::fast().await;
    arm.put_group("rg", "g", group_body("nginx", "Never")).await;
    arm.wait_for("rg", "g", |g| container_state(g).0 == "Running").await;
    let url = format!(
        "{}/_emulator/subscriptions/{SUB}/resourceGroups/rg/containerGroups/g/containers/main/exit",
        arm.emulator.base_url()
    );
    let reply = arm.http.post(url).json(&json!({ "exitCode": 42 })).send().await.expect("admin answers");
    assert_eq!(reply.status(), StatusCode::NO_CONTENT);
    let group = arm.wait_for("rg", "g", |g| container_state(g).0 == "Terminated").await;
    assert_eq!(container_state(&group).2, Some(42));
    let gref = GroupRef { subscription: SUB.into(), resource_group: "rg".into(), name: "g".into() };
    assert!(!arm.emulator.exit_container(&gref, "main", 1), "a terminated container cannot be told to exit");
}

#[tokio::test]
async fn stop_start_and_restart_move_the_group_as_azure_does() {
    let arm = Arm::fast().await;
    arm.put_group("rg", "g", group_body("nginx", "Always")).await;
    arm.wait_for("rg", "g", |g| container_state(g).0 == "Running").await;
    let path = Arm::group_path("rg", "g");
    assert_eq!(arm.call(Method::POST, &format!("{path}/stop"), None).await.status, StatusCode::NO_CONTENT);
    let stopped = arm.get_group("rg", "g").await.body;
    assert_eq!(stopped["properties"]["instanceView"]["state"], "Stopped");
    assert_eq!(container_state(&stopped).0, "Terminated");
    assert_eq!(arm.call(Method::POST, &format!("{path}/start"), None).await.status, StatusCode::ACCEPTED);
    arm.wait_for("rg", "g", |g| container_state(g).0 == "Running").await;
    assert_eq!(arm.call(Method::POST, &format!("{path}/restart"), None).await.status, StatusCode::NO_CONTENT);
    let restarted = arm.wait_for("rg", "g", |g| container_state(g).0 == "Running").await;
    assert_eq!(container_state(&restarted).1, 1);
    let missing = arm.call(Method::POST, &format!("{}/start", Arm::group_path("rg", "none")), None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn init_containers_run_to_completion_before_the_containers() {
    let arm = Arm::fast().await;
    let mut body = group_body("nginx", "Always");
    body["properties"]["initContainers"] = json!([{ "name": "init", "properties": { "image": "busybox" } }]);
    arm.put_group("rg", "g", body).await;
    let group = arm.wait_for("rg", "g", |g| container_state(g).0 == "Running").await;
    let init = &group["properties"]["initContainers"][0]["properties"]["instanceView"]["currentState"];
    assert_eq!(init["state"], "Terminated");
    assert_eq!(init["exitCode"], 0);
}

#[tokio::test]
async fn the_process_runtime_runs_the_command_and_logs_support_tail_and_timestamps() {
    let arm = Arm::start(Config { runtime: Runtime::Process, ..Config::fast() }).await;
    let mut body = group_body("busybox", "Never");
    body["properties"]["containers"][0]["properties"]["command"] =
        json!(["/bin/sh", "-c", "echo one; echo two >&2; echo $GREETING; pwd; exit 7"]);
    body["properties"]["containers"][0]["properties"]["environmentVariables"] =
        json!([{ "name": "GREETING", "secureValue": "three" }]);
    arm.put_group("rg", "p", body).await;
    let group = arm.wait_for("rg", "p", |g| container_state(g).0 == "Terminated").await;
    assert_eq!(container_state(&group).2, Some(7));
    let logs = |query: &'static str| {
        let path = format!("{}/containers/main/logs{query}", Arm::group_path("rg", "p"));
        let arm = &arm;
        async move {
            arm.call(Method::GET, &path, None).await.body["content"].as_str().unwrap_or_default().to_owned()
        }
    };
    let all = logs("").await;
    let lines: Vec<&str> = all.lines().collect();
    assert_eq!(lines[..3], ["one", "two", "three"], "stderr is merged in order: {all}");
    assert!(lines[3].contains("aci-emulator-"), "the command runs in its own directory: {all}");
    assert_eq!(logs("?tail=2").await.lines().count(), 2);
    let stamped = logs("?tail=1&timestamps=true").await;
    let (time, line) = stamped.trim_end().split_once(' ').expect("a timestamp, then the line");
    assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok());
    assert_eq!(line, lines[3]);
}

#[tokio::test]
async fn windows_groups_are_simulated_even_with_the_process_runtime() {
    let arm = Arm::start(Config { runtime: Runtime::Process, ..Config::fast() }).await;
    let mut body = group_body("mcr.microsoft.com/windows/nanoserver", "Always");
    body["properties"]["osType"] = json!("Windows");
    body["properties"]["containers"][0]["properties"]["command"] =
        json!(["cmd.exe", "/c", "ping -t localhost"]);
    arm.put_group("rg", "win", body).await;
    let group = arm.wait_for("rg", "win", |g| container_state(g).0 == "Running").await;
    assert_eq!(group["properties"]["osType"], "Windows");
    let logs =
        arm.call(Method::GET, &format!("{}/containers/main/logs", Arm::group_path("rg", "win")), None).await;
    assert!(
        logs.body["content"].as_str().is_some_and(|c| c.contains("[aci-emulator] container main started"))
    );
}

#[tokio::test]
async fn the_time_scale_shrinks_simulated_delays_at_run_time() {
    let arm = Arm::start(Config { pull_delay_ms: 60_000, ..Config::fast() }).await;
    let reply = arm
        .http
        .put(format!("{}/_emulator/time-scale", arm.emulator.base_url()))
        .json(&json!({ "factor": 0.0001 }))
        .send()
        .await
        .expect("admin answers");
    assert_eq!(reply.status(), StatusCode::NO_CONTENT);
    arm.put_group("rg", "g", group_body("nginx", "Always")).await;
    arm.wait_for("rg", "g", |g| container_state(g).0 == "Running").await;
}

fn process_is_gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

#[tokio::test]
async fn shutting_the_emulator_down_ends_container_processes() {
    let arm = Arm::start(Config { runtime: Runtime::Process, ..Config::fast() }).await;
    let mut body = group_body("busybox", "Always");
    body["properties"]["containers"][0]["properties"]["command"] =
        json!(["/bin/sh", "-c", "echo $$; exec sleep 60"]);
    arm.put_group("rg", "p", body).await;
    let logs_path = format!("{}/containers/main/logs", Arm::group_path("rg", "p"));
    let mut pid = String::new();
    for _ in 0..300 {
        pid = arm.call(Method::GET, &logs_path, None).await.body["content"]
            .as_str()
            .unwrap_or_default()
            .trim()
            .to_owned();
        if !pid.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(pid.parse::<u32>().is_ok(), "the process printed its pid: {pid:?}");
    assert!(!process_is_gone(&pid), "the container process runs");
    arm.emulator.shutdown().await;
    let mut gone = false;
    for _ in 0..200 {
        gone = process_is_gone(&pid);
        if gone {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(gone, "the container process ended with the emulator");
}

#[tokio::test]
async fn a_command_that_cannot_start_terminates_the_container() {
    let arm = Arm::start(Config { runtime: Runtime::Process, ..Config::fast() }).await;
    let mut body = group_body("busybox", "Never");
    body["properties"]["containers"][0]["properties"]["command"] = json!(["/nonexistent/program"]);
    arm.put_group("rg", "bad", body).await;
    let group = arm.wait_for("rg", "bad", |g| container_state(g).0 == "Terminated").await;
    let state = &group["properties"]["containers"][0]["properties"]["instanceView"]["currentState"];
    assert_eq!(state["exitCode"], 127);
    assert!(state["detailStatus"].as_str().is_some_and(|d| d.starts_with("ContainerCannotRun")), "{state}");
}
