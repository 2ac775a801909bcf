//! Addressing and name resolution: VNet subnets or a public IP with an optional DNS name label,
//! the group's exposed ports, and `dnsConfig`.

use std::collections::BTreeSet;

use vk_proto::v1;

use super::annotations::AciOptions;
use super::config::ClusterDns;
use super::problems::Findings;
use crate::model::{Container, ContainerGroupSubnetId, DnsConfiguration, IpAddress, Port};

/// Azure's recursive resolver, reachable from every container group.
pub const AZURE_DNS: &str = "168.63.129.16";

/// The group's address and subnets.
pub(crate) struct Addressing {
    pub ip_address: Option<IpAddress>,
    pub subnet_ids: Vec<ContainerGroupSubnetId>,
}

/// Chooses the group's addressing. In a VNet the group always gets a private IP; otherwise it
/// gets a public IP when it exposes ports or asks for a DNS name label, and no IP at all when
/// it needs none. The group's ports are the union of its containers' ports.
pub(crate) fn addressing(
    containers: &[Container],
    options: &AciOptions,
    default_subnets: &[String],
    findings: &mut Findings,
) -> Addressing {
    let ports: BTreeSet<Port> = containers
        .iter()
        .flat_map(|c| c.properties.ports.iter())
        .map(|p| Port { protocol: p.protocol.clone(), port: p.port })
        .collect();
    let ports: Vec<Port> = ports.into_iter().collect();
    let subnets = options.subnet_ids.clone().unwrap_or_else(|| default_subnets.to_vec());
    let label_path = format!("metadata.annotations[{}]", super::annotations::DNS_NAME_LABEL);
    if options.spot {
        let priority_path = format!("metadata.annotations[{}]", super::annotations::PRIORITY);
        if !subnets.is_empty() {
            findings.refuse(priority_path.clone(), "ACI Spot container groups cannot join a virtual network");
        }
        if options.dns_name_label.is_some() {
            findings.refuse(label_path, "ACI Spot container groups get no public IP, so no DNS name label");
        }
        if !ports.is_empty() {
            findings
                .warn("spec.containers[*].ports", "not exposed: ACI Spot container groups get no IP address");
        }
        return Addressing { ip_address: None, subnet_ids: Vec::new() };
    }
    if !subnets.is_empty() {
        if options.dns_name_label.is_some() {
            findings.refuse(
                label_path,
                "a DNS name label needs a public IP, but this pod runs in a virtual network",
            );
        }
        return Addressing {
            ip_address: Some(IpAddress { ports, ip_type: "Private".into(), ..Default::default() }),
            subnet_ids: subnets.into_iter().map(|id| ContainerGroupSubnetId { id }).collect(),
        };
    }
    if ports.is_empty() {
        if options.dns_name_label.is_some() {
            findings
                .refuse(label_path, "a public IP with a DNS name label needs at least one container port");
        }
        return Addressing { ip_address: None, subnet_ids: Vec::new() };
    }
    Addressing {
        ip_address: Some(IpAddress {
            ports,
            ip_type: "Public".into(),
            dns_name_label: options.dns_name_label.clone(),
            ..Default::default()
        }),
        subnet_ids: Vec::new(),
    }
}

fn joined(items: impl IntoIterator<Item = String>) -> Option<String> {
    let items: Vec<String> = items.into_iter().collect();
    (!items.is_empty()).then(|| items.join(" "))
}

fn option_text(o: &v1::DnsOption) -> String {
    match &o.value {
        Some(v) => format!("{}:{v}", o.name),
        None => o.name.clone(),
    }
}

/// The group's DNS settings from `dnsPolicy` and `dnsConfig`. `ClusterFirst` uses the cluster's
/// DNS only when the backend was told where it is (it must be reachable from the groups);
/// otherwise names resolve through Azure DNS as with `Default`.
pub(crate) fn dns_config(
    spec: &v1::PodSpec,
    namespace: &str,
    cluster_dns: Option<&ClusterDns>,
    in_vnet: bool,
    findings: &mut Findings,
) -> Option<DnsConfiguration> {
    let empty = v1::DnsConfig::default();
    let pod = spec.dns_config.as_ref().unwrap_or(&empty);
    let policy = v1::DnsPolicy::try_from(spec.dns_policy).unwrap_or(v1::DnsPolicy::Unspecified);
    let pod_options = pod.options.iter().map(option_text);
    match (policy, cluster_dns) {
        (v1::DnsPolicy::None, _) => {
            if pod.nameservers.is_empty() {
                findings.refuse("spec.dnsConfig.nameservers", "dnsPolicy None needs at least one nameserver");
                return None;
            }
            Some(DnsConfiguration {
                name_servers: pod.nameservers.clone(),
                search_domains: joined(pod.searches.iter().cloned()),
                options: joined(pod_options),
            })
        }
        (
            v1::DnsPolicy::Unspecified | v1::DnsPolicy::ClusterFirst | v1::DnsPolicy::ClusterFirstWithHostNet,
            Some(dns),
        ) => {
            if !in_vnet {
                findings.warn(
                    "spec.dnsPolicy",
                    "cluster DNS is configured but this group has no VNet to reach it",
                );
            }
            let domain = &dns.cluster_domain;
            let searches = [format!("{namespace}.svc.{domain}"), format!("svc.{domain}"), domain.clone()];
            Some(DnsConfiguration {
                name_servers: std::iter::once(dns.nameserver.clone())
                    .chain(pod.nameservers.iter().cloned())
                    .collect(),
                search_domains: joined(searches.into_iter().chain(pod.searches.iter().cloned())),
                options: joined(std::iter::once("ndots:5".to_string()).chain(pod_options)),
            })
        }
        _ => {
            if pod.nameservers.is_empty() && pod.searches.is_empty() && pod.options.is_empty() {
                return None;
            }
            let name_servers = if pod.nameservers.is_empty() {
                vec![AZURE_DNS.to_string()]
            } else {
                pod.nameservers.clone()
            };
            Some(DnsConfiguration {
                name_servers,
                search_domains: joined(pod.searches.iter().cloned()),
                options: joined(pod_options),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ContainerPort, ContainerProperties};

    fn with_ports(ports: &[(i32, &str)]) -> Container {
        Container {
            name: "c".into(),
            properties: ContainerProperties {
                ports: ports
                    .iter()
                    .map(|(p, pr)| ContainerPort { port: *p, protocol: Some(pr.to_string()) })
                    .collect(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn group_ports_are_the_union_of_container_ports() {
        let mut findings = Findings::default();
        let containers = [with_ports(&[(80, "TCP"), (53, "UDP")]), with_ports(&[(80, "TCP"), (443, "TCP")])];
        let a = addressing(&containers, &AciOptions::default(), &[], &mut findings);
        let ip = a.ip_address.expect("ports need an IP");
        assert_eq!(ip.ip_type, "Public");
        let ports: Vec<_> = ip.ports.iter().map(|p| (p.port, p.protocol.as_deref().unwrap_or(""))).collect();
        assert_eq!(ports, vec![(53, "UDP"), (80, "TCP"), (443, "TCP")]);
    }

    #[test]
    fn a_vnet_group_gets_a_private_ip_and_its_subnets() {
        let mut findings = Findings::default();
        let a =
            addressing(&[with_ports(&[])], &AciOptions::default(), &["/sub/net".to_string()], &mut findings);
        assert_eq!(a.ip_address.expect("private ip").ip_type, "Private");
        assert_eq!(a.subnet_ids[0].id, "/sub/net");
    }

    #[test]
    fn cluster_first_with_cluster_dns_builds_the_kubernetes_search_path() {
        let mut findings = Findings::default();
        let dns = ClusterDns { nameserver: "10.0.0.10".into(), cluster_domain: "cluster.local".into() };
        let spec = v1::PodSpec::default();
        let out = dns_config(&spec, "team", Some(&dns), true, &mut findings).expect("dns config");
        assert_eq!(out.name_servers, vec!["10.0.0.10"]);
        assert_eq!(
            out.search_domains.as_deref(),
            Some("team.svc.cluster.local svc.cluster.local cluster.local")
        );
        assert_eq!(out.options.as_deref(), Some("ndots:5"));
    }

    #[test]
    fn pod_searches_without_nameservers_use_azure_dns() {
        let mut findings = Findings::default();
        let spec = v1::PodSpec {
            dns_policy: v1::DnsPolicy::Default as i32,
            dns_config: Some(v1::DnsConfig {
                nameservers: vec![],
                searches: vec!["corp.example".into()],
                options: vec![v1::DnsOption { name: "ndots".into(), value: Some("2".into()) }],
            }),
            ..Default::default()
        };
        let out = dns_config(&spec, "ns", None, false, &mut findings).expect("dns config");
        assert_eq!(out.name_servers, vec![AZURE_DNS]);
        assert_eq!(out.options.as_deref(), Some("ndots:2"));
    }
}
