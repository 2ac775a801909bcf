//! Scopes keep callers apart; ListPods pages.

use std::collections::HashSet;

use tonic::Code;
use vk_proto::v1 as pb;

use crate::conformance::context::{CaseResult, Context, Expect, ensure, expect_code};
use crate::conformance::fixtures;
use crate::connect::Client;

async fn all_uids(
    client: &mut Client,
    page_size: u32,
    rule: &'static str,
) -> Result<Vec<String>, crate::conformance::CaseError> {
    let mut uids = Vec::new();
    let mut page_token = String::new();
    for _ in 0..1000 {
        let page = client.list_pods(pb::ListPodsRequest { page_size, page_token }).await.under(rule)?;
        uids.extend(page.pods.into_iter().filter_map(|p| p.pod.and_then(|p| p.meta).map(|m| m.uid)));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    Ok(uids)
}

pub async fn list_pods_is_scoped(context: &Context) -> CaseResult {
    const RULE: &str =
        "ListPods returns only the caller's scope's pods, and a UID of another scope is NOT_FOUND";
    let (scope_a, scope_b) = (context.scope("scope-a"), context.scope("scope-b"));
    let (mut a, mut b) = (context.client(&scope_a)?, context.client(&scope_b)?);
    let (uid_a, uid_b) = (context.uid("in-a"), context.uid("in-b"));
    context.create(&mut a, &scope_a, fixtures::sleeper(&uid_a, "in-a"), RULE).await?;
    context.create(&mut b, &scope_b, fixtures::sleeper(&uid_b, "in-b"), RULE).await?;
    let seen_by_a = all_uids(&mut a, 0, RULE).await?;
    let seen_by_b = all_uids(&mut b, 0, RULE).await?;
    ensure(seen_by_a.contains(&uid_a) && !seen_by_a.contains(&uid_b), RULE, || {
        format!("scope A lists {seen_by_a:?} (its pod {uid_a}, the other scope's {uid_b})")
    })?;
    ensure(seen_by_b.contains(&uid_b) && !seen_by_b.contains(&uid_a), RULE, || {
        format!("scope B lists {seen_by_b:?} (its pod {uid_b}, the other scope's {uid_a})")
    })?;
    expect_code(a.get_pod(pb::GetPodRequest { uid: uid_b.clone() }).await, Code::NotFound, RULE)?;
    let deleted = a
        .delete_pod(pb::DeletePodRequest { uid: uid_b.clone(), grace_period_seconds: Some(0) })
        .await
        .under(RULE)?;
    ensure(!deleted.found, RULE, || "DeletePod of another scope's UID said found=true".into())?;
    let still = b.get_pod(pb::GetPodRequest { uid: uid_b }).await.under(RULE)?;
    ensure(still.state.is_some_and(|s| !s.deleting), RULE, || {
        "another scope's DeletePod deleted the pod".into()
    })?;
    other_cluster_is_apart(context, &scope_a, &uid_a).await
}

/// The same node name under another cluster id is another scope too (checked when the caller
/// may act for `<cluster id>-other`).
async fn other_cluster_is_apart(context: &Context, scope_a: &vk_proto::Scope, uid_a: &str) -> CaseResult {
    const RULE: &str =
        "ListPods returns only the caller's scope's pods, and a UID of another scope is NOT_FOUND";
    let scope_c = vk_proto::Scope::new(format!("{}-other", scope_a.cluster_id), scope_a.node_name.clone());
    let mut c = context.client(&scope_c)?;
    let uid_c = context.uid("in-c");
    context.remember(&scope_c, &uid_c);
    match c.create_pod(pb::CreatePodRequest { pod: Some(fixtures::sleeper(&uid_c, "in-c")) }).await {
        Err(status) if matches!(status.code(), Code::PermissionDenied | Code::Unauthenticated) => {
            return Ok(());
        }
        other => other.under(RULE).map(|_| ())?,
    }
    let seen_by_c = all_uids(&mut c, 0, RULE).await?;
    ensure(seen_by_c.contains(&uid_c) && !seen_by_c.iter().any(|u| u == uid_a), RULE, || {
        format!(
            "cluster {} lists {seen_by_c:?}, including cluster {}'s pod {uid_a}",
            scope_c.cluster_id, scope_a.cluster_id
        )
    })?;
    expect_code(c.get_pod(pb::GetPodRequest { uid: uid_a.to_owned() }).await, Code::NotFound, RULE)?;
    Ok(())
}

pub async fn list_pods_pages(context: &Context) -> CaseResult {
    const RULE: &str = "ListPods pages cover every pod of the scope exactly once";
    let scope = context.scope("paging");
    let mut client = context.client(&scope)?;
    let mut created = HashSet::new();
    for i in 0..3 {
        let uid = context.uid(&format!("page{i}"));
        context.create(&mut client, &scope, fixtures::sleeper(&uid, &format!("page{i}")), RULE).await?;
        created.insert(uid);
    }
    let listed = all_uids(&mut client, 1, RULE).await?;
    let unique: HashSet<String> = listed.iter().cloned().collect();
    ensure(unique.len() == listed.len(), RULE, || format!("a pod appeared twice: {listed:?}"))?;
    ensure(created.is_subset(&unique), RULE, || format!("listed {listed:?}, created {created:?}"))
}
