//! Liveness and readiness probes. ACI runs command and HTTP GET probes (with headers); it has
//! no TCP, gRPC or startup probes and always probes the container's own address.

use vk_proto::v1;

use super::problems::Findings;
use crate::model::{ContainerExec, ContainerHttpGet, ContainerProbe, HttpHeader};

/// Converts a probe, recording why it cannot run on ACI when it cannot.
pub(crate) fn probe(probe: &v1::Probe, path: &str, findings: &mut Findings) -> Option<ContainerProbe> {
    let mut out = ContainerProbe {
        initial_delay_seconds: Some(probe.initial_delay_seconds),
        period_seconds: positive(probe.period_seconds),
        failure_threshold: positive(probe.failure_threshold),
        success_threshold: positive(probe.success_threshold),
        timeout_seconds: positive(probe.timeout_seconds),
        ..Default::default()
    };
    match &probe.handler {
        Some(v1::probe::Handler::Exec(exec)) => {
            if exec.command.is_empty() {
                findings.refuse(format!("{path}.exec.command"), "a command probe needs a command");
            }
            out.exec = Some(ContainerExec { command: exec.command.clone() });
        }
        Some(v1::probe::Handler::HttpGet(get)) => {
            if !get.host.is_empty() {
                findings.refuse(
                    format!("{path}.httpGet.host"),
                    "ACI probes only the container's own address; remove host (a Host header goes in httpHeaders)",
                );
            }
            let scheme = match get.scheme.to_ascii_uppercase().as_str() {
                "" | "HTTP" => "http",
                "HTTPS" => "https",
                other => {
                    findings.refuse(format!("{path}.httpGet.scheme"), format!("unknown scheme {other:?}"));
                    "http"
                }
            };
            out.http_get = Some(ContainerHttpGet {
                path: (!get.path.is_empty()).then(|| get.path.clone()),
                port: get.port,
                scheme: Some(scheme.to_string()),
                http_headers: get
                    .http_headers
                    .iter()
                    .map(|h| HttpHeader { name: h.name.clone(), value: h.value.clone() })
                    .collect(),
            });
        }
        Some(v1::probe::Handler::TcpSocket(_)) => {
            findings
                .refuse(format!("{path}.tcpSocket"), "ACI has no TCP probes; use an exec or httpGet probe");
            return None;
        }
        Some(v1::probe::Handler::Grpc(_)) => {
            findings.refuse(format!("{path}.grpc"), "ACI has no gRPC probes; use an exec or httpGet probe");
            return None;
        }
        None => {
            findings.refuse(path.to_string(), "a probe needs exec or httpGet");
            return None;
        }
    }
    Some(out)
}

fn positive(value: i32) -> Option<i32> {
    (value > 0).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http_probe_keeps_path_port_scheme_and_headers() {
        let p = v1::Probe {
            handler: Some(v1::probe::Handler::HttpGet(v1::HttpGetAction {
                path: "/healthz".into(),
                port: 8080,
                scheme: "HTTPS".into(),
                host: String::new(),
                http_headers: vec![v1::HttpHeader { name: "X-Probe".into(), value: "1".into() }],
            })),
            initial_delay_seconds: 5,
            period_seconds: 10,
            timeout_seconds: 1,
            success_threshold: 1,
            failure_threshold: 3,
        };
        let mut findings = Findings::default();
        let out = probe(&p, "p", &mut findings).expect("http probes map");
        let get = out.http_get.expect("http");
        assert_eq!(
            (get.port, get.scheme.as_deref(), get.path.as_deref()),
            (8080, Some("https"), Some("/healthz"))
        );
        assert_eq!(get.http_headers, vec![HttpHeader { name: "X-Probe".into(), value: "1".into() }]);
        assert_eq!((out.initial_delay_seconds, out.failure_threshold), (Some(5), Some(3)));
    }

    #[test]
    fn a_tcp_probe_is_refused() {
        let p = v1::Probe {
            handler: Some(v1::probe::Handler::TcpSocket(v1::TcpSocketAction {
                port: 80,
                host: String::new(),
            })),
            ..Default::default()
        };
        let mut findings = Findings::default();
        assert!(probe(&p, "spec.containers[0].livenessProbe", &mut findings).is_none());
        let refusal = findings.finish().expect_err("tcp");
        assert_eq!(refusal.problems[0].path, "spec.containers[0].livenessProbe.tcpSocket");
    }
}
