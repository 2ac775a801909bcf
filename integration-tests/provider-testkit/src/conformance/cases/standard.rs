//! Health, reflection, scope metadata, node info and stats.

use futures::StreamExt;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use vk_proto::PROVIDER_SERVICE_NAME;
use vk_proto::v1 as pb;

use crate::conformance::context::{CaseError, CaseResult, Context, Expect, broken, ensure, expect_code};

pub async fn health(context: &Context) -> CaseResult {
    const RULE: &str = "grpc.health.v1 reports SERVING for \"\" and vk.provider.v1.Provider";
    let mut client = HealthClient::new(context.connection().channel());
    for service in ["", PROVIDER_SERVICE_NAME] {
        let response = client
            .check(HealthCheckRequest { service: service.to_owned() })
            .await
            .map_err(|status| broken(RULE, format!("Check(\"{service}\") failed: {status}")))?;
        let status = response.into_inner().status;
        ensure(status == ServingStatus::Serving as i32, RULE, || {
            format!("Check(\"{service}\") answered {status}")
        })?;
    }
    Ok(())
}

pub async fn reflection(context: &Context) -> CaseResult {
    const RULE: &str = "server reflection lists vk.provider.v1.Provider and grpc.health.v1.Health";
    let mut client = ServerReflectionClient::new(context.connection().channel());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .map_err(|status| broken(RULE, format!("reflection failed: {status}")))?
        .into_inner();
    let response = responses.next().await.ok_or_else(|| broken(RULE, "no answer"))?;
    let response = response.map_err(|status| broken(RULE, format!("reflection failed: {status}")))?;
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        return Err(broken(RULE, "the answer is not a service list"));
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for wanted in [PROVIDER_SERVICE_NAME, "grpc.health.v1.Health"] {
        ensure(names.iter().any(|n| n == wanted), RULE, || format!("{wanted} missing from {names:?}"))?;
    }
    Ok(())
}

pub async fn scope_is_required(context: &Context) -> CaseResult {
    const RULE: &str = "a Provider call without scope metadata is INVALID_ARGUMENT";
    let mut client = context.connection().unscoped_provider();
    expect_code(client.list_pods(pb::ListPodsRequest::default()).await, Code::InvalidArgument, RULE)?;
    Ok(())
}

pub async fn authentication(context: &Context) -> CaseResult {
    const RULE: &str = "a backend that authenticates answers UNAUTHENTICATED without a valid token and PERMISSION_DENIED for a cluster id the caller may not use";
    let connection = context.connection();
    let mut tested = Vec::new();
    if connection.has_token() {
        let scope = context.scope("");
        for (what, token) in [("no token", None), ("a wrong token", Some("not-the-token"))] {
            let other = connection.with_token(token).map_err(|e| broken(RULE, e.to_string()))?;
            let mut client = other.provider(&scope).map_err(|e| broken(RULE, e.to_string()))?;
            let result = client.list_pods(pb::ListPodsRequest::default()).await;
            expect_code(result, Code::Unauthenticated, RULE).map_err(|e| match e {
                CaseError::Broken { rule, detail } => broken(rule, format!("with {what}: {detail}")),
                skipped => skipped,
            })?;
        }
        tested.push("tokens");
    }
    if let Some(forbidden) = &context.settings.forbidden_cluster_id {
        let scope = vk_proto::Scope::new(forbidden.clone(), context.settings.node_name.clone());
        let mut client = context.client(&scope)?;
        expect_code(client.list_pods(pb::ListPodsRequest::default()).await, Code::PermissionDenied, RULE)?;
        tested.push("cluster ids");
    }
    if tested.is_empty() {
        return Err(CaseError::Skipped(
            "no --token or --forbidden-cluster-id given, so the backend's authentication is not tested"
                .into(),
        ));
    }
    Ok(())
}

pub async fn node_info(context: &Context) -> CaseResult {
    const RULE: &str =
        "GetNodeInfo describes the node: OS, capacity, allocatable within capacity, capabilities";
    let mut client = context.client(&context.scope(""))?;
    let info = client.get_node_info(pb::GetNodeInfoRequest {}).await.under(RULE)?;
    ensure(info.os != pb::OsType::Unspecified as i32, RULE, || "os is unspecified".into())?;
    let capacity = info.capacity.ok_or_else(|| broken(RULE, "no capacity"))?;
    let allocatable = info.allocatable.ok_or_else(|| broken(RULE, "no allocatable"))?;
    ensure(capacity.cpu_millis > 0 && capacity.memory_bytes > 0 && capacity.pods > 0, RULE, || {
        format!("capacity has a zero: {capacity:?}")
    })?;
    ensure(
        allocatable.cpu_millis <= capacity.cpu_millis
            && allocatable.memory_bytes <= capacity.memory_bytes
            && allocatable.pods <= capacity.pods,
        RULE,
        || format!("allocatable {allocatable:?} exceeds capacity {capacity:?}"),
    )?;
    ensure(info.capabilities.is_some(), RULE, || "no capabilities".into())?;
    Ok(())
}

pub async fn stats_summary(context: &Context) -> CaseResult {
    const RULE: &str = "GetStatsSummary names the scope's node";
    let scope = context.scope("");
    let mut client = context.client(&scope)?;
    let summary = client.get_stats_summary(pb::GetStatsSummaryRequest {}).await.under(RULE)?;
    let node = summary.node.ok_or_else(|| broken(RULE, "no node stats"))?;
    ensure(node.node_name == scope.node_name, RULE, || {
        format!("node_name is {:?}, the scope's is {:?}", node.node_name, scope.node_name)
    })
}
