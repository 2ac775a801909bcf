//! Create, get, update and delete: idempotency, pods returned as given, lifecycle, typed
//! errors.

use tonic::Code;
use vk_proto::v1::container_state::State as StateKind;
use vk_proto::v1::{self as pb, PodPhase, RestartPolicy};

use crate::conformance::context::{CaseResult, Context, Expect, broken, ensure, expect_code};
use crate::conformance::fixtures;

pub async fn create_is_idempotent(context: &Context) -> CaseResult {
    const RULE: &str =
        "CreatePod of a UID that exists returns its current state with already_existed and changes nothing";
    let scope = context.scope("");
    let mut client = context.client(&scope)?;
    let uid = context.uid("idem");
    let pod = fixtures::sleeper(&uid, "idem");
    let first = context.create(&mut client, &scope, pod.clone(), RULE).await?;
    ensure(!first.already_existed, RULE, || "the first CreatePod said already_existed".into())?;
    let mut changed = pod.clone();
    changed.spec_hash = format!("{uid}-other");
    let second = context.create(&mut client, &scope, changed, RULE).await?;
    ensure(second.already_existed, RULE, || "the second CreatePod did not say already_existed".into())?;
    let kept = second.state.and_then(|s| s.pod).map(|p| p.spec_hash);
    ensure(kept.as_deref() == Some(pod.spec_hash.as_str()), RULE, || {
        format!("the second CreatePod replaced the pod (spec_hash now {kept:?})")
    })
}

fn first_difference(given: &pb::Pod, returned: &pb::Pod) -> Option<String> {
    if given.spec_hash != returned.spec_hash {
        return Some(format!("spec_hash {:?} came back as {:?}", given.spec_hash, returned.spec_hash));
    }
    if given.meta != returned.meta {
        return Some(format!("meta {:?} came back as {:?}", given.meta, returned.meta));
    }
    let (a, b) = (given.spec.clone().unwrap_or_default(), returned.spec.clone().unwrap_or_default());
    for (field, left, right) in [
        ("containers", format!("{:?}", a.containers), format!("{:?}", b.containers)),
        ("init_containers", format!("{:?}", a.init_containers), format!("{:?}", b.init_containers)),
        ("volumes", format!("{:?}", a.volumes), format!("{:?}", b.volumes)),
    ] {
        if left != right {
            return Some(format!("spec.{field} {left} came back as {right}"));
        }
    }
    (a != b).then(|| format!("spec {a:?} came back as {b:?}"))
}

pub async fn get_returns_the_pod_as_given(context: &Context) -> CaseResult {
    const RULE: &str =
        "GetPod returns the pod exactly as given (secret values may be empty; spec_hash exact)";
    let scope = context.scope("");
    let mut client = context.client(&scope)?;
    let uid = context.uid("rich");
    let mut given = fixtures::rich_pod(&uid);
    context.create(&mut client, &scope, given.clone(), RULE).await?;
    let state = client.get_pod(pb::GetPodRequest { uid: uid.clone() }).await.under(RULE)?.state;
    let returned = state.and_then(|s| s.pod).ok_or_else(|| broken(RULE, "GetPod returned no pod"))?;
    fixtures::blank_secrets_like(&mut given, &returned);
    match first_difference(&given, &returned) {
        None => Ok(()),
        Some(difference) => Err(broken(RULE, difference)),
    }
}

pub async fn delete_is_idempotent(context: &Context) -> CaseResult {
    const RULE: &str =
        "DeletePod is idempotent: an unknown UID succeeds with found=false, a repeated delete succeeds";
    let scope = context.scope("");
    let mut client = context.client(&scope)?;
    let unknown = client
        .delete_pod(pb::DeletePodRequest { uid: context.uid("never-created"), grace_period_seconds: None })
        .await;
    let unknown = unknown.under(RULE)?;
    ensure(!unknown.found, RULE, || "deleting an unknown UID said found=true".into())?;
    let uid = context.uid("delete");
    context.create(&mut client, &scope, fixtures::sleeper(&uid, "delete"), RULE).await?;
    let first = client
        .delete_pod(pb::DeletePodRequest { uid: uid.clone(), grace_period_seconds: Some(0) })
        .await
        .under(RULE)?;
    ensure(first.found, RULE, || "deleting an existing pod said found=false".into())?;
    client
        .delete_pod(pb::DeletePodRequest { uid: uid.clone(), grace_period_seconds: Some(0) })
        .await
        .under(RULE)?;
    context
        .eventually(RULE, "the deleted pod disappearing from GetPod", || {
            let mut client = client.clone();
            let uid = uid.clone();
            async move {
                match client.get_pod(pb::GetPodRequest { uid }).await {
                    Err(status) if status.code() == Code::NotFound => Ok(Some(())),
                    Ok(_) => Ok(None),
                    Err(status) => Err(broken(RULE, format!("GetPod after delete failed with {status}"))),
                }
            }
        })
        .await?;
    let after =
        client.delete_pod(pb::DeletePodRequest { uid, grace_period_seconds: Some(0) }).await.under(RULE)?;
    ensure(!after.found, RULE, || "deleting a removed pod said found=true".into())
}

pub async fn pod_reaches_running(context: &Context) -> CaseResult {
    const RULE: &str = "a created pod declaring a port reaches Running with a pod IP and running containers";
    let scope = context.scope("");
    let mut client = context.client(&scope)?;
    let uid = context.uid("run");
    let created = context.create(&mut client, &scope, fixtures::server(&uid, "run"), RULE).await?;
    let phase = created.state.and_then(|s| s.status).map(|s| s.phase);
    ensure(
        matches!(phase, Some(p) if p == PodPhase::Pending as i32 || p == PodPhase::Running as i32),
        RULE,
        || format!("CreatePod returned phase {phase:?}, expected Pending or Running"),
    )?;
    let state = context.wait_phase(&client, &uid, PodPhase::Running, RULE).await?;
    let status = state.status.unwrap_or_default();
    ensure(!status.pod_ip.is_empty(), RULE, || "Running without a pod IP".into())?;
    let running = status
        .container_statuses
        .iter()
        .any(|c| matches!(c.state.as_ref().and_then(|s| s.state.as_ref()), Some(StateKind::Running(_))));
    ensure(running, RULE, || format!("no container is running: {:?}", status.container_statuses))
}

fn exit_code(state: &pb::PodState) -> Option<i32> {
    let status = state.status.as_ref()?.container_statuses.first()?;
    match status.state.as_ref()?.state.as_ref()? {
        StateKind::Terminated(terminated) => Some(terminated.exit_code),
        _ => None,
    }
}

pub async fn exit_codes_follow_restart_policy_never(context: &Context) -> CaseResult {
    const RULE: &str = "under restartPolicy Never a container exiting 0 ends Succeeded, exiting 3 ends Failed with exit code 3";
    let scope = context.scope("");
    let mut client = context.client(&scope)?;
    let ok = context.uid("exit0");
    let bad = context.uid("exit3");
    context
        .create(
            &mut client,
            &scope,
            fixtures::script_pod(&ok, "exit0", "echo done", RestartPolicy::Never),
            RULE,
        )
        .await?;
    context
        .create(
            &mut client,
            &scope,
            fixtures::script_pod(&bad, "exit3", "echo failing; exit 3", RestartPolicy::Never),
            RULE,
        )
        .await?;
    let succeeded = context.wait_phase(&client, &ok, PodPhase::Succeeded, RULE).await?;
    ensure(exit_code(&succeeded) == Some(0), RULE, || {
        format!("exit code {:?}, expected 0", exit_code(&succeeded))
    })?;
    let failed = context.wait_phase(&client, &bad, PodPhase::Failed, RULE).await?;
    ensure(exit_code(&failed) == Some(3), RULE, || format!("exit code {:?}, expected 3", exit_code(&failed)))
}

pub async fn invalid_pods_list_every_problem(context: &Context) -> CaseResult {
    const RULE: &str =
        "a pod that can never run is INVALID_ARGUMENT, the message listing every problem, and is not created";
    let scope = context.scope("");
    let mut client = context.client(&scope)?;
    let uid = context.uid("impossible");
    context.remember(&scope, &uid);
    let result = client.create_pod(pb::CreatePodRequest { pod: Some(fixtures::impossible_pod(&uid)) }).await;
    let status = expect_code(result, Code::InvalidArgument, RULE)?;
    let message = status.message().to_lowercase();
    ensure(message.contains("hostnetwork") || message.contains("host_network"), RULE, || {
        format!("the message does not mention hostNetwork: {}", status.message())
    })?;
    ensure(message.contains("hostpath") || message.contains("volumes[0]"), RULE, || {
        format!("the message does not mention the hostPath volume: {}", status.message())
    })?;
    expect_code(client.get_pod(pb::GetPodRequest { uid }).await, Code::NotFound, RULE)?;
    Ok(())
}

pub async fn update_pod(context: &Context) -> CaseResult {
    const RULE: &str =
        "UpdatePod: the same spec_hash is a no-op, a new one is kept as given, an unknown UID is NOT_FOUND";
    let scope = context.scope("");
    let mut client = context.client(&scope)?;
    let uid = context.uid("update");
    let pod = fixtures::sleeper(&uid, "update");
    context.create(&mut client, &scope, pod.clone(), RULE).await?;
    let same = client.update_pod(pb::UpdatePodRequest { pod: Some(pod.clone()) }).await.under(RULE)?;
    ensure(!same.recreated, RULE, || "an update with the same spec_hash recreated the pod".into())?;
    let mut changed = pod.clone();
    changed.spec_hash = format!("{uid}-v2");
    if let Some(container) = changed.spec.as_mut().and_then(|s| s.containers.first_mut()) {
        container.image = "busybox:1.37".into();
    }
    client.update_pod(pb::UpdatePodRequest { pod: Some(changed.clone()) }).await.under(RULE)?;
    let returned =
        client.get_pod(pb::GetPodRequest { uid: uid.clone() }).await.under(RULE)?.state.and_then(|s| s.pod);
    ensure(returned.as_ref() == Some(&changed), RULE, || {
        "GetPod after UpdatePod does not return the new pod".into()
    })?;
    let mut unknown = pod;
    if let Some(meta) = unknown.meta.as_mut() {
        meta.uid = context.uid("never-created");
    }
    expect_code(client.update_pod(pb::UpdatePodRequest { pod: Some(unknown) }).await, Code::NotFound, RULE)?;
    Ok(())
}
