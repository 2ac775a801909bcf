//! Service link variables (`<SVC>_SERVICE_HOST`, `<SVC>_PORT_80_TCP_ADDR`, ...) as the
//! kubelet builds them: the `kubernetes` service of `default` always, and every Service of
//! the pod's namespace when `enableServiceLinks` (default true). Services without a cluster
//! IP (headless, ExternalName) give no variables.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Service;

use super::error::ResolveError;
use super::fetch::Fetcher;
use super::source::ObjectSource;

const MASTER_NAMESPACE: &str = "default";
const MASTER_SERVICE: &str = "kubernetes";

/// The service variables for a pod in the fetcher's namespace, in a stable order.
pub async fn service_env<S: ObjectSource>(
    fetch: &mut Fetcher<'_, S>,
    enable_service_links: bool,
) -> Result<Vec<(String, String)>, ResolveError> {
    let context = "service links";
    let mut services: BTreeMap<String, Service> = BTreeMap::new();
    if enable_service_links {
        for service in fetch.services(context).await? {
            if let Some(name) = service.metadata.name.clone() {
                services.insert(name, service);
            }
        }
    }
    if fetch.namespace() == MASTER_NAMESPACE && enable_service_links {
        // Already listed with the namespace's services.
    } else if !services.contains_key(MASTER_SERVICE)
        && let Some(master) = fetch.service(MASTER_NAMESPACE, MASTER_SERVICE, context).await?
    {
        services.insert(MASTER_SERVICE.to_owned(), master);
    }
    Ok(services.values().flat_map(variables).collect())
}

/// The variables of one Service (none when it has no cluster IP).
pub fn variables(service: &Service) -> Vec<(String, String)> {
    let Some(spec) = service.spec.as_ref() else { return Vec::new() };
    let ip = spec.cluster_ip.as_deref().unwrap_or_default();
    if ip.is_empty() || ip == "None" {
        return Vec::new();
    }
    let name = env_name(service.metadata.name.as_deref().unwrap_or_default());
    let ports = spec.ports.as_deref().unwrap_or_default();
    let mut vars = vec![(format!("{name}_SERVICE_HOST"), ip.to_owned())];
    if let Some(first) = ports.first() {
        vars.push((format!("{name}_SERVICE_PORT"), first.port.to_string()));
    }
    for port in ports {
        if let Some(port_name) = port.name.as_deref().filter(|n| !n.is_empty()) {
            vars.push((format!("{name}_SERVICE_PORT_{}", env_name(port_name)), port.port.to_string()));
        }
    }
    let host = if ip.contains(':') { format!("[{ip}]") } else { ip.to_owned() };
    for (index, port) in ports.iter().enumerate() {
        let protocol = port.protocol.as_deref().unwrap_or("TCP").to_uppercase();
        let lower = protocol.to_lowercase();
        let url = format!("{lower}://{host}:{}", port.port);
        if index == 0 {
            vars.push((format!("{name}_PORT"), url.clone()));
        }
        let prefix = format!("{name}_PORT_{}_{protocol}", port.port);
        vars.push((prefix.clone(), url));
        vars.push((format!("{prefix}_PROTO"), lower));
        vars.push((format!("{prefix}_PORT"), port.port.to_string()));
        vars.push((format!("{prefix}_ADDR"), ip.to_owned()));
    }
    vars
}

fn env_name(name: &str) -> String {
    name.to_uppercase().replace('-', "_")
}

#[cfg(test)]
pub(crate) mod tests_support {
    use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
    use kube::api::ObjectMeta;

    /// A Service with a cluster IP and ports (name, port, protocol).
    pub fn service(name: &str, ip: &str, ports: &[(Option<&str>, i32, &str)]) -> Service {
        Service {
            metadata: ObjectMeta { name: Some(name.into()), ..ObjectMeta::default() },
            spec: Some(ServiceSpec {
                cluster_ip: Some(ip.into()),
                ports: Some(
                    ports
                        .iter()
                        .map(|(name, port, protocol)| ServicePort {
                            name: name.map(str::to_owned),
                            port: *port,
                            protocol: Some((*protocol).into()),
                            ..ServicePort::default()
                        })
                        .collect(),
                ),
                ..ServiceSpec::default()
            }),
            ..Service::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::service;
    use super::*;

    #[test]
    fn a_service_gives_host_port_and_docker_link_variables() {
        let vars: BTreeMap<_, _> =
            variables(&service("redis-main", "10.0.0.11", &[(Some("db"), 6379, "TCP"), (None, 53, "UDP")]))
                .into_iter()
                .collect();
        let get = |k: &str| vars.get(k).map(String::as_str);
        assert_eq!(get("REDIS_MAIN_SERVICE_HOST"), Some("10.0.0.11"));
        assert_eq!(get("REDIS_MAIN_SERVICE_PORT"), Some("6379"));
        assert_eq!(get("REDIS_MAIN_SERVICE_PORT_DB"), Some("6379"));
        assert_eq!(get("REDIS_MAIN_PORT"), Some("tcp://10.0.0.11:6379"));
        assert_eq!(get("REDIS_MAIN_PORT_6379_TCP"), Some("tcp://10.0.0.11:6379"));
        assert_eq!(get("REDIS_MAIN_PORT_6379_TCP_PROTO"), Some("tcp"));
        assert_eq!(get("REDIS_MAIN_PORT_6379_TCP_PORT"), Some("6379"));
        assert_eq!(get("REDIS_MAIN_PORT_6379_TCP_ADDR"), Some("10.0.0.11"));
        assert_eq!(get("REDIS_MAIN_PORT_53_UDP"), Some("udp://10.0.0.11:53"));
        assert_eq!(vars.len(), 12);
    }

    #[test]
    fn headless_services_give_nothing_and_ipv6_urls_are_bracketed() {
        assert!(variables(&service("h", "None", &[(None, 80, "TCP")])).is_empty());
        let vars = variables(&service("v6", "fd00::1", &[(None, 80, "TCP")]));
        assert!(vars.contains(&("V6_PORT".to_owned(), "tcp://[fd00::1]:80".to_owned())));
    }
}
