//! The kubelet API's paths, and the authorization attributes the kubelet derives from a
//! request (`nodes/<subresource>` with a verb from the HTTP method).

use http::Method;

/// A recognized request path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `/containerLogs/{namespace}/{pod}/{container}`.
    ContainerLogs(PodContainer),
    /// `/exec/{namespace}/{pod}[/{uid}]/{container}`.
    Exec(PodContainer),
    /// `/attach/{namespace}/{pod}[/{uid}]/{container}`.
    Attach(PodContainer),
    /// `/portForward/{namespace}/{pod}[/{uid}]`.
    PortForward,
    /// `/stats/summary`.
    StatsSummary,
    /// `/metrics/resource`.
    MetricsResource,
    /// `/pods`.
    Pods,
    /// `/healthz`.
    Healthz,
    /// Anything else.
    NotFound,
}

/// A container of a pod, as named in the path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodContainer {
    /// Pod namespace.
    pub namespace: String,
    /// Pod name.
    pub pod: String,
    /// Pod UID when the path carries it.
    pub uid: Option<String>,
    /// Container name.
    pub container: String,
}

impl Route {
    /// Parses a request path.
    pub fn parse(path: &str) -> Route {
        let segments: Vec<&str> = path.trim_start_matches('/').trim_end_matches('/').split('/').collect();
        let owned = |s: &&str| (*s).to_owned();
        let pod_container = |rest: &[&str]| match rest {
            [ns, pod, container] => Some(PodContainer {
                namespace: owned(ns),
                pod: owned(pod),
                uid: None,
                container: owned(container),
            }),
            [ns, pod, uid, container] => Some(PodContainer {
                namespace: owned(ns),
                pod: owned(pod),
                uid: Some(owned(uid)),
                container: owned(container),
            }),
            _ => None,
        };
        let valid = |pc: &PodContainer| ![&pc.namespace, &pc.pod, &pc.container].iter().any(|s| s.is_empty());
        match segments.as_slice() {
            ["containerLogs", ns, pod, container] => {
                let pc = PodContainer {
                    namespace: owned(ns),
                    pod: owned(pod),
                    uid: None,
                    container: owned(container),
                };
                if valid(&pc) { Route::ContainerLogs(pc) } else { Route::NotFound }
            }
            ["exec", rest @ ..] => pod_container(rest).filter(valid).map_or(Route::NotFound, Route::Exec),
            ["attach", rest @ ..] => pod_container(rest).filter(valid).map_or(Route::NotFound, Route::Attach),
            ["portForward", _, _] | ["portForward", _, _, _] => Route::PortForward,
            ["stats", "summary"] => Route::StatsSummary,
            ["metrics", "resource"] => Route::MetricsResource,
            ["pods"] => Route::Pods,
            ["healthz"] => Route::Healthz,
            _ => Route::NotFound,
        }
    }
}

/// What a request asks permission for: `verb` on `nodes/<node>/<subresource>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Attributes {
    /// API verb from the HTTP method.
    pub verb: &'static str,
    /// Subresource of `nodes`.
    pub subresource: &'static str,
    /// The node's name.
    pub node: String,
}

impl Attributes {
    /// The kubelet's mapping: POST create, GET/HEAD get, PUT update, PATCH patch, DELETE
    /// delete; `/stats/*` stats, `/metrics/*` metrics, `/logs/*` log, `/spec/*` spec,
    /// everything else (exec, attach, containerLogs, pods...) proxy.
    pub fn for_request(method: &Method, path: &str, node: &str) -> Attributes {
        let verb = match *method {
            Method::POST => "create",
            Method::GET | Method::HEAD => "get",
            Method::PUT => "update",
            Method::PATCH => "patch",
            Method::DELETE => "delete",
            _ => "",
        };
        let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
        let subresource = if under("/stats") {
            "stats"
        } else if under("/metrics") {
            "metrics"
        } else if under("/logs") {
            "log"
        } else if under("/spec") {
            "spec"
        } else {
            "proxy"
        };
        Attributes { verb, subresource, node: node.to_owned() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pc(ns: &str, pod: &str, uid: Option<&str>, container: &str) -> PodContainer {
        PodContainer {
            namespace: ns.into(),
            pod: pod.into(),
            uid: uid.map(Into::into),
            container: container.into(),
        }
    }

    #[test]
    fn kubelet_paths_parse() {
        assert_eq!(Route::parse("/containerLogs/ns/p/c"), Route::ContainerLogs(pc("ns", "p", None, "c")));
        assert_eq!(Route::parse("/exec/ns/p/c"), Route::Exec(pc("ns", "p", None, "c")));
        assert_eq!(Route::parse("/exec/ns/p/uid-1/c"), Route::Exec(pc("ns", "p", Some("uid-1"), "c")));
        assert_eq!(Route::parse("/attach/ns/p/c"), Route::Attach(pc("ns", "p", None, "c")));
        assert_eq!(Route::parse("/portForward/ns/p"), Route::PortForward);
        assert_eq!(Route::parse("/stats/summary"), Route::StatsSummary);
        assert_eq!(Route::parse("/metrics/resource"), Route::MetricsResource);
        assert_eq!(Route::parse("/pods"), Route::Pods);
        assert_eq!(Route::parse("/pods/"), Route::Pods);
        assert_eq!(Route::parse("/healthz"), Route::Healthz);
    }

    #[test]
    fn incomplete_or_unknown_paths_are_not_found() {
        for path in ["/", "/exec/ns/p", "/containerLogs/ns//c", "/exec//p/c", "/stats", "/run/ns/p/c", "/x"] {
            assert_eq!(Route::parse(path), Route::NotFound, "{path}");
        }
    }

    #[test]
    fn the_verb_follows_the_method_and_the_subresource_the_path() {
        let attrs = |m: Method, p: &str| Attributes::for_request(&m, p, "vk");
        assert_eq!(
            attrs(Method::POST, "/exec/ns/p/c"),
            Attributes { verb: "create", subresource: "proxy", node: "vk".into() }
        );
        assert_eq!(attrs(Method::GET, "/exec/ns/p/c").verb, "get");
        assert_eq!(attrs(Method::GET, "/containerLogs/ns/p/c").subresource, "proxy");
        assert_eq!(attrs(Method::GET, "/stats/summary").subresource, "stats");
        assert_eq!(attrs(Method::GET, "/metrics/resource").subresource, "metrics");
        assert_eq!(attrs(Method::GET, "/logs/messages").subresource, "log");
        assert_eq!(attrs(Method::GET, "/statsx").subresource, "proxy");
        assert_eq!(attrs(Method::GET, "/pods").subresource, "proxy");
        assert_eq!(attrs(Method::DELETE, "/pods").verb, "delete");
    }
}
