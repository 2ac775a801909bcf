//! The real `kubectl` as the client: a minimal stand-in apiserver on 127.0.0.1 answers
//! discovery and the pod, and serves `pods/exec` with our SPDY and WebSocket sessions
//! backed by a scripted provider (`out` on stdout, `err` on stderr, stdin echoed, exit 3).

use std::convert::Infallible;
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use super::fake_backend::{Script, fake_backend};
use super::options::ExecOptions;
use super::over_spdy::SpdySessionConfig;
use super::protocol::{negotiate_spdy, spdy_switching_response};
use super::{over_spdy, over_websocket};
use crate::kubelet_api::websocket;

const POD: &str = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"default","uid":"u1"},
"spec":{"containers":[{"name":"app","image":"busybox"}]},"status":{"phase":"Running"}}"#;
const API_VERSIONS: &str = r#"{"kind":"APIVersions","versions":["v1"],
"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]}"#;
const API_GROUPS: &str = r#"{"kind":"APIGroupList","apiVersion":"v1","groups":[]}"#;
const CORE_RESOURCES: &str = r#"{"kind":"APIResourceList","groupVersion":"v1","resources":[
{"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["get","list"],"shortNames":["po"]},
{"name":"pods/exec","singularName":"","namespaced":true,"kind":"PodExecOptions","verbs":["create","get"]}]}"#;

async fn provider_script(mut script: Script, stdin: bool) {
    script.started().await;
    script.stdout("out\n").await;
    script.stderr("err\n").await;
    if !stdin {
        script.exit(3).await;
        return;
    }
    loop {
        match script.next().await {
            Some(vk_proto::v1::exec_request::Frame::Stdin(bytes)) => {
                script.stdout(&String::from_utf8_lossy(&bytes)).await;
            }
            Some(vk_proto::v1::exec_request::Frame::StdinClose(_)) => break,
            Some(_) => {}
            None => return,
        }
    }
    script.exit(3).await;
}

fn reply(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    response
}

fn empty(response: Response<()>) -> Response<Full<Bytes>> {
    response.map(|()| Full::new(Bytes::new()))
}

async fn handle(mut request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    let response = match path.as_str() {
        "/api" => reply(StatusCode::OK, API_VERSIONS),
        "/apis" => reply(StatusCode::OK, API_GROUPS),
        "/api/v1" => reply(StatusCode::OK, CORE_RESOURCES),
        "/api/v1/namespaces/default/pods/p" => reply(StatusCode::OK, POD),
        "/api/v1/namespaces/default/pods/p/exec" => {
            let Ok(options) = ExecOptions::for_exec(&query) else {
                return Ok(reply(StatusCode::BAD_REQUEST, "{}"));
            };
            let upgrade = hyper::upgrade::on(&mut request);
            let stdin = options.stdin;
            let (backend, _script) = fake_backend(move |script| provider_script(script, stdin));
            if websocket::is_websocket_request(request.headers()) {
                let Ok(accepted) = websocket::accept(request.headers()) else {
                    return Ok(reply(StatusCode::BAD_REQUEST, "{}"));
                };
                tokio::spawn(async move {
                    if let Ok(upgraded) = upgrade.await {
                        let io = TokioIo::new(upgraded);
                        over_websocket::serve(io, accepted.protocol, &options, async { Ok(backend) }).await;
                    }
                });
                empty(accepted.response)
            } else {
                let protocol = match negotiate_spdy(request.headers()) {
                    Ok(protocol) => protocol,
                    Err(err) => return Ok(err.response().map(|body| Full::new(Bytes::from(body)))),
                };
                tokio::spawn(async move {
                    if let Ok(upgraded) = upgrade.await {
                        let io = TokioIo::new(upgraded);
                        let config = SpdySessionConfig::default();
                        let _ = over_spdy::serve(io, protocol, &options, async { Ok(backend) }, config).await;
                    }
                });
                empty(spdy_switching_response(protocol))
            }
        }
        _ => reply(
            StatusCode::NOT_FOUND,
            r#"{"kind":"Status","apiVersion":"v1","status":"Failure","code":404}"#,
        ),
    };
    Ok(response)
}

struct StandIn {
    port: u16,
    dir: tempfile::TempDir,
}

async fn stand_in_apiserver() -> StandIn {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let connection = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service_fn(handle))
                    .with_upgrades();
                let _ = connection.await;
            });
        }
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:{port}\n\
         users:\n- name: u\n  user: {{}}\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n    \
         namespace: default\ncurrent-context: x\n"
    );
    std::fs::write(dir.path().join("kubeconfig"), kubeconfig).expect("write kubeconfig");
    StandIn { port, dir }
}

struct Run {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

async fn kubectl(stand_in: &StandIn, websockets: bool, stdin: Option<&str>) -> Run {
    let mut command = tokio::process::Command::new("kubectl");
    command
        .arg("--kubeconfig")
        .arg(stand_in.dir.path().join("kubeconfig"))
        .arg("--cache-dir")
        .arg(stand_in.dir.path().join("cache"))
        .args(["exec", "p", "-c", "app"])
        .args(stdin.map(|_| "-i"))
        .args(["--", "sh", "-c", "echo out; echo err >&2; exit 3"])
        .env("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", if websockets { "true" } else { "false" })
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("kubectl is installed (CI requires it)");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).await.expect("write stdin");
        drop(pipe);
    }
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("kubectl finished in time")
        .expect("kubectl ran");
    let _ = stand_in.port;
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code(),
    }
}

#[tokio::test]
async fn kubectl_exec_over_spdy_gets_stdout_stderr_and_exit_code_3() {
    let stand_in = stand_in_apiserver().await;
    let run = kubectl(&stand_in, false, None).await;
    assert_eq!(run.stdout, "out\n", "stderr: {}", run.stderr);
    assert!(run.stderr.starts_with("err\n"), "stderr: {}", run.stderr);
    assert_eq!(run.code, Some(3), "stderr: {}", run.stderr);
}

#[tokio::test]
async fn kubectl_exec_over_spdy_carries_stdin() {
    let stand_in = stand_in_apiserver().await;
    let run = kubectl(&stand_in, false, Some("typed line\n")).await;
    assert_eq!(run.stdout, "out\ntyped line\n", "stderr: {}", run.stderr);
    assert_eq!(run.code, Some(3), "stderr: {}", run.stderr);
}

#[tokio::test]
async fn kubectl_exec_over_websocket_gets_stdout_stderr_and_exit_code_3() {
    let stand_in = stand_in_apiserver().await;
    let run = kubectl(&stand_in, true, None).await;
    assert_eq!(run.stdout, "out\n", "stderr: {}", run.stderr);
    assert!(run.stderr.starts_with("err\n"), "stderr: {}", run.stderr);
    assert_eq!(run.code, Some(3), "stderr: {}", run.stderr);
}

#[tokio::test]
async fn kubectl_exec_over_websocket_carries_stdin() {
    let stand_in = stand_in_apiserver().await;
    let run = kubectl(&stand_in, true, Some("typed line\n")).await;
    assert_eq!(run.stdout, "out\ntyped line\n", "stderr: {}", run.stderr);
    assert_eq!(run.code, Some(3), "stderr: {}", run.stderr);
}
