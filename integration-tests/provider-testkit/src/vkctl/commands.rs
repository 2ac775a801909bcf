//! The request/response commands: list, get, create, delete, node-info, stats.

use std::io::{Read, Write};
use std::path::Path;

use serde_json::json;
use vk_proto::v1 as pb;

use super::output::{self, Format};
use super::{VkctlError, resolve};
use crate::connect::Client;

fn print(text: &str) -> Result<i32, VkctlError> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(0)
}

pub async fn list(mut client: Client, format: Format) -> Result<i32, VkctlError> {
    let mut pods = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_pods(pb::ListPodsRequest { page_size: 0, page_token })
            .await
            .map_err(VkctlError::rpc("ListPods"))?
            .into_inner();
        pods.extend(page.pods);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    print(&output::pods(&pods, format))
}

pub async fn get(mut client: Client, uid: &str, format: Format) -> Result<i32, VkctlError> {
    let response =
        client.get_pod(pb::GetPodRequest { uid: uid.to_owned() }).await.map_err(VkctlError::rpc("GetPod"))?;
    let state = response.into_inner().state.unwrap_or_default();
    print(&output::pod(&state, format))
}

pub async fn create(mut client: Client, file: &Path, format: Format) -> Result<i32, VkctlError> {
    let read_error = |source| VkctlError::Read { path: file.to_owned(), source };
    let yaml = if file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(read_error)?;
        text
    } else {
        std::fs::read_to_string(file).map_err(read_error)?
    };
    let pod = resolve::pod_from_yaml(&yaml, &uuid::Uuid::new_v4().to_string())?;
    let response = client
        .create_pod(pb::CreatePodRequest { pod: Some(pod) })
        .await
        .map_err(VkctlError::rpc("CreatePod"))?
        .into_inner();
    let state = response.state.unwrap_or_default();
    match format {
        Format::Json => print(
            &(json!({"alreadyExisted": response.already_existed, "pod": output::pod_json(&state)})
                .to_string()
                + "\n"),
        ),
        Format::Table => {
            let uid =
                state.pod.as_ref().and_then(|p| p.meta.as_ref()).map(|m| m.uid.clone()).unwrap_or_default();
            let verb = if response.already_existed { "already exists" } else { "created" };
            print(&format!("pod {uid} {verb}\n"))
        }
    }
}

pub async fn delete(mut client: Client, uid: &str, format: Format) -> Result<i32, VkctlError> {
    let response = client
        .delete_pod(pb::DeletePodRequest { uid: uid.to_owned(), grace_period_seconds: None })
        .await
        .map_err(VkctlError::rpc("DeletePod"))?
        .into_inner();
    match format {
        Format::Json => {
            print(&(json!({"uid": uid, "found": response.found, "gone": response.gone}).to_string() + "\n"))
        }
        Format::Table => {
            let what = match (response.found, response.gone) {
                (false, _) => "not found (nothing to delete)",
                (true, true) => "deleted",
                (true, false) => "deleting",
            };
            print(&format!("pod {uid} {what}\n"))
        }
    }
}

pub async fn node_info(mut client: Client, format: Format) -> Result<i32, VkctlError> {
    let info = client
        .get_node_info(pb::GetNodeInfoRequest {})
        .await
        .map_err(VkctlError::rpc("GetNodeInfo"))?
        .into_inner();
    print(&output::node_info(&info, format))
}

pub async fn stats(mut client: Client) -> Result<i32, VkctlError> {
    let summary = client
        .get_stats_summary(pb::GetStatsSummaryRequest {})
        .await
        .map_err(VkctlError::rpc("GetStatsSummary"))?
        .into_inner();
    let node = summary.node.unwrap_or_default();
    let usage = |cpu: Option<pb::CpuStats>, memory: Option<pb::MemoryStats>| {
        json!({
            "usageNanoCores": cpu.and_then(|c| c.usage_nano_cores),
            "workingSetBytes": memory.and_then(|m| m.working_set_bytes),
        })
    };
    let value = json!({
        "node": {"nodeName": node.node_name, "usage": usage(node.cpu, node.memory)},
        "pods": summary.pods.into_iter().map(|p| json!({
            "uid": p.uid, "namespace": p.namespace, "name": p.name, "usage": usage(p.cpu, p.memory),
        })).collect::<Vec<_>>(),
    });
    print(&(serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"))
}
