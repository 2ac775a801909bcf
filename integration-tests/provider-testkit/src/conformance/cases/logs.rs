//! GetContainerLogs and every log option, over one pod that writes known lines.

use std::time::Duration;

use chrono::DateTime;
use tonic::{Code, Status};
use vk_proto::v1::{self as pb, PodPhase, RestartPolicy};

use crate::conformance::context::{
    CaseError, CaseResult, Context, Expect, ExpectValue, broken, ensure, expect_code,
};
use crate::conformance::fixtures;
use crate::connect::Client;

const SCRIPT: &str = "echo one; echo two; echo three; sleep 2; echo four; sleep 3600";
const FULL: &str = "one\ntwo\nthree\nfour\n";
const CONTAINER: &str = "main";

fn request(uid: &str) -> pb::ContainerLogsRequest {
    pb::ContainerLogsRequest {
        pod_uid: uid.to_owned(),
        container: CONTAINER.to_owned(),
        ..Default::default()
    }
}

/// The whole (non-follow) log, or the status the call failed with.
async fn read(client: &mut Client, request: pb::ContainerLogsRequest) -> Result<Vec<u8>, Status> {
    let mut stream = client.get_container_logs(request).await?.into_inner();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.message().await? {
        bytes.extend(chunk.data);
    }
    Ok(bytes)
}

/// The shared log pod, created once and waited for until it wrote all its lines.
async fn log_pod(context: &Context) -> Result<(Client, String), CaseError> {
    const RULE: &str = "a pod running `sh -c` writes its output to the container log";
    let scope = context.scope("");
    let client = context.client(&scope)?;
    let uid = context
        .log_pod
        .get_or_init(|| async {
            let mut client = client.clone();
            let uid = context.uid("logs");
            let pod = fixtures::script_pod(&uid, "logs", SCRIPT, RestartPolicy::Always);
            let setup = async {
                context.create(&mut client, &scope, pod, RULE).await?;
                context.wait_phase(&client, &uid, PodPhase::Running, RULE).await?;
                context
                    .eventually(RULE, "the log holding all four lines", || {
                        let mut client = client.clone();
                        let uid = uid.clone();
                        async move {
                            Ok(read(&mut client, request(&uid)).await.ok().filter(|b| b == FULL.as_bytes()))
                        }
                    })
                    .await
            };
            setup.await.map(|_| uid.clone()).map_err(|e| e.to_string())
        })
        .await
        .clone()
        .map_err(|message| broken(RULE, message))?;
    Ok((client, uid))
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).into_owned()
}

pub async fn logs_all(context: &Context) -> CaseResult {
    const RULE: &str = "GetContainerLogs without options returns the whole log";
    let (mut client, uid) = log_pod(context).await?;
    let all = text(read(&mut client, request(&uid)).await.or_rule(RULE)?);
    ensure(all == FULL, RULE, || format!("got {all:?}, expected {FULL:?}"))
}

pub async fn logs_tail_lines(context: &Context) -> CaseResult {
    const RULE: &str = "tail_lines returns the last N lines, and 0 returns none";
    let (mut client, uid) = log_pod(context).await?;
    let two = text(
        read(&mut client, pb::ContainerLogsRequest { tail_lines: Some(2), ..request(&uid) })
            .await
            .or_rule(RULE)?,
    );
    ensure(two == "three\nfour\n", RULE, || format!("tail_lines=2 gave {two:?}"))?;
    let zero = text(
        read(&mut client, pb::ContainerLogsRequest { tail_lines: Some(0), ..request(&uid) })
            .await
            .or_rule(RULE)?,
    );
    ensure(zero.is_empty(), RULE, || format!("tail_lines=0 gave {zero:?}"))
}

/// The log with timestamps, as (time, text) per line.
async fn stamped(
    client: &mut Client,
    uid: &str,
    rule: &'static str,
) -> Result<Vec<(DateTime<chrono::FixedOffset>, String)>, CaseError> {
    let all = text(
        read(client, pb::ContainerLogsRequest { timestamps: true, ..request(uid) }).await.or_rule(rule)?,
    );
    all.lines()
        .map(|line| {
            let (time, rest) = line
                .split_once(' ')
                .ok_or_else(|| broken(rule, format!("line {line:?} has no timestamp")))?;
            let time = DateTime::parse_from_rfc3339(time)
                .map_err(|e| broken(rule, format!("{time:?} is not an RFC 3339 timestamp: {e}")))?;
            Ok((time, rest.to_owned()))
        })
        .collect()
}

pub async fn logs_timestamps(context: &Context) -> CaseResult {
    const RULE: &str = "timestamps prefixes every line with its RFC 3339 time and a space";
    let (mut client, uid) = log_pod(context).await?;
    let lines = stamped(&mut client, &uid, RULE).await?;
    let texts: Vec<&str> = lines.iter().map(|(_, t)| t.as_str()).collect();
    ensure(texts == ["one", "two", "three", "four"], RULE, || {
        format!("lines after the timestamps: {texts:?}")
    })?;
    ensure(lines.windows(2).all(|w| w[0].0 <= w[1].0), RULE, || "timestamps go backwards".into())
}

pub async fn logs_since(context: &Context) -> CaseResult {
    const RULE: &str = "since_time returns the lines written at or after it; since_seconds the recent ones";
    let (mut client, uid) = log_pod(context).await?;
    let lines = stamped(&mut client, &uid, RULE).await?;
    let four = lines
        .iter()
        .find(|(_, t)| t == "four")
        .map(|(time, _)| *time)
        .ok_or_else(|| broken(RULE, "no line `four`"))?;
    let since_time = prost_types::Timestamp {
        seconds: four.timestamp(),
        nanos: i32::try_from(four.timestamp_subsec_nanos()).unwrap_or(0),
    };
    let since = text(
        read(&mut client, pb::ContainerLogsRequest { since_time: Some(since_time), ..request(&uid) })
            .await
            .or_rule(RULE)?,
    );
    ensure(since == "four\n", RULE, || format!("since_time = the time of `four` gave {since:?}"))?;
    let recent = text(
        read(&mut client, pb::ContainerLogsRequest { since_seconds: Some(86_400), ..request(&uid) })
            .await
            .or_rule(RULE)?,
    );
    ensure(recent == FULL, RULE, || format!("since_seconds=86400 gave {recent:?}"))
}

pub async fn logs_limit_bytes(context: &Context) -> CaseResult {
    const RULE: &str = "limit_bytes stops after that many bytes, even inside a line";
    let (mut client, uid) = log_pod(context).await?;
    let cut = text(
        read(&mut client, pb::ContainerLogsRequest { limit_bytes: Some(5), ..request(&uid) })
            .await
            .or_rule(RULE)?,
    );
    ensure(cut == "one\nt", RULE, || format!("limit_bytes=5 gave {cut:?}"))
}

pub async fn logs_follow(context: &Context) -> CaseResult {
    const RULE: &str = "follow keeps the stream open while the container runs";
    let (mut client, uid) = log_pod(context).await?;
    let mut stream = client
        .get_container_logs(pb::ContainerLogsRequest { follow: true, ..request(&uid) })
        .await
        .under(RULE)?;
    let mut bytes = Vec::new();
    while bytes.len() < FULL.len() {
        let chunk = tokio::time::timeout(context.settings.timeout, stream.message())
            .await
            .map_err(|_| {
                broken(RULE, format!("the existing lines did not arrive; got {:?}", text(bytes.clone())))
            })?
            .or_rule(RULE)?
            .ok_or_else(|| broken(RULE, "the stream ended before the existing lines"))?;
        bytes.extend(chunk.data);
    }
    ensure(bytes == FULL.as_bytes(), RULE, || format!("follow began with {:?}", text(bytes.clone())))?;
    match tokio::time::timeout(Duration::from_secs(2), stream.message()).await {
        Err(_) => Ok(()),
        Ok(Ok(None)) => Err(broken(RULE, "the stream ended although the container still runs")),
        Ok(Ok(Some(chunk))) => Err(broken(RULE, format!("unexpected output {:?}", text(chunk.data)))),
        Ok(Err(status)) => Err(broken(RULE, format!("the stream failed: {status}"))),
    }
}

pub async fn logs_previous(context: &Context) -> CaseResult {
    const RULE: &str =
        "previous logs of a container that never restarted are NOT_FOUND (or UNIMPLEMENTED: skipped)";
    let (mut client, uid) = log_pod(context).await?;
    expect_code(
        read(&mut client, pb::ContainerLogsRequest { previous: true, ..request(&uid) }).await,
        Code::NotFound,
        RULE,
    )?;
    Ok(())
}

pub async fn logs_errors_come_first(context: &Context) -> CaseResult {
    const RULE: &str = "log errors come as the rpc status: unknown pod or container NOT_FOUND, both since options INVALID_ARGUMENT";
    let (mut client, uid) = log_pod(context).await?;
    let unknown_pod = pb::ContainerLogsRequest { pod_uid: context.uid("never-created"), ..request(&uid) };
    expect_code(client.get_container_logs(unknown_pod).await, Code::NotFound, RULE)?;
    let unknown_container =
        pb::ContainerLogsRequest { container: "no-such-container".into(), ..request(&uid) };
    expect_code(client.get_container_logs(unknown_container).await, Code::NotFound, RULE)?;
    let both = pb::ContainerLogsRequest {
        since_seconds: Some(10),
        since_time: Some(prost_types::Timestamp { seconds: 1, nanos: 0 }),
        ..request(&uid)
    };
    expect_code(client.get_container_logs(both).await, Code::InvalidArgument, RULE)?;
    Ok(())
}
