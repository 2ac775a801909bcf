//! Thirty-odd varied resolved pods that together use every field the translation maps.
//! Secret values all start with `SECRET-` so tests can search for leaks.

use vk_proto::v1;

const IDENTITY_ID: &str =
    "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app";
const SUBNET_ID: &str =
    "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vn/subnets/aci";

fn container(name: &str, image: &str) -> v1::Container {
    v1::Container { name: name.into(), image: image.into(), ..Default::default() }
}

fn pod(name: &str, containers: Vec<v1::Container>) -> v1::Pod {
    v1::Pod {
        meta: Some(v1::PodMeta {
            uid: format!("uid-{name}"),
            namespace: "corpus".into(),
            name: name.into(),
            creation_timestamp: Some(prost_types::Timestamp { seconds: 1_760_000_000, nanos: 0 }),
            ..Default::default()
        }),
        spec: Some(v1::PodSpec { containers, ..Default::default() }),
        spec_hash: format!("hash-{name}"),
    }
}

fn spec(p: &mut v1::Pod) -> &mut v1::PodSpec {
    p.spec.get_or_insert_with(Default::default)
}

fn annotate(p: &mut v1::Pod, key: &str, value: &str) {
    p.meta.get_or_insert_with(Default::default).annotations.insert(key.into(), value.into());
}

fn env(name: &str, value: &str, secret: bool) -> v1::EnvVar {
    v1::EnvVar { name: name.into(), value: value.into(), secret }
}

fn port(n: i32, protocol: v1::Protocol) -> v1::ContainerPort {
    v1::ContainerPort { name: String::new(), container_port: n, protocol: protocol as i32, host_port: 0 }
}

fn resources(
    cpu: Option<i64>,
    memory: Option<i64>,
    cpu_limit: Option<i64>,
    memory_limit: Option<i64>,
) -> v1::ResourceRequirements {
    v1::ResourceRequirements {
        requests: Some(v1::ResourceList { cpu_millis: cpu, memory_bytes: memory, ..Default::default() }),
        limits: Some(v1::ResourceList {
            cpu_millis: cpu_limit,
            memory_bytes: memory_limit,
            ..Default::default()
        }),
    }
}

fn mount(name: &str, path: &str, read_only: bool) -> v1::VolumeMount {
    v1::VolumeMount { name: name.into(), mount_path: path.into(), read_only, sub_path: String::new() }
}

fn files(name: &str, kind: &str, secret: bool, entries: &[(&str, &str)]) -> v1::Volume {
    v1::Volume {
        name: name.into(),
        source: Some(v1::volume::Source::Files(v1::FilesVolume {
            kind: kind.into(),
            files: entries
                .iter()
                .map(|(p, c)| v1::File {
                    path: p.to_string(),
                    content: c.as_bytes().to_vec(),
                    mode: Some(0o644),
                })
                .collect(),
            secret,
        })),
    }
}

fn http_probe(path: &str, port: i32, scheme: &str, headers: &[(&str, &str)]) -> v1::Probe {
    v1::Probe {
        handler: Some(v1::probe::Handler::HttpGet(v1::HttpGetAction {
            path: path.into(),
            port,
            scheme: scheme.into(),
            host: String::new(),
            http_headers: headers
                .iter()
                .map(|(n, v)| v1::HttpHeader { name: n.to_string(), value: v.to_string() })
                .collect(),
        })),
        initial_delay_seconds: 3,
        period_seconds: 10,
        timeout_seconds: 2,
        success_threshold: 1,
        failure_threshold: 3,
    }
}

fn exec_probe(command: &[&str]) -> v1::Probe {
    v1::Probe {
        handler: Some(v1::probe::Handler::Exec(v1::ExecAction {
            command: command.iter().map(|s| s.to_string()).collect(),
        })),
        initial_delay_seconds: 0,
        period_seconds: 5,
        timeout_seconds: 1,
        success_threshold: 1,
        failure_threshold: 5,
    }
}

/// The corpus, each pod with a short description of what it exercises.
pub fn pods() -> Vec<(&'static str, v1::Pod)> {
    let mut out: Vec<(&'static str, v1::Pod)> = Vec::new();
    out.push(("minimal nginx", pod("nginx", vec![container("web", "nginx:1.27")])));

    let mut p = pod("cmd-args", vec![container("job", "busybox")]);
    spec(&mut p).containers[0].command = vec!["sh".into(), "-c".into()];
    spec(&mut p).containers[0].args = vec!["echo 'quoted arg'; exit 3".into()];
    spec(&mut p).restart_policy = v1::RestartPolicy::Never as i32;
    out.push(("command plus args, restart Never", p));

    let mut p = pod("env", vec![container("app", "app:1")]);
    spec(&mut p).containers[0].env =
        vec![env("MODE", "prod", false), env("EMPTY", "", false), env("DB_PASSWORD", "SECRET-db", true)];
    out.push(("plain, empty and secret env", p));

    let mut p = pod("ports", vec![container("dns", "coredns"), container("web", "nginx")]);
    spec(&mut p).containers[0].ports = vec![port(53, v1::Protocol::Udp), port(53, v1::Protocol::Tcp)];
    spec(&mut p).containers[1].ports =
        vec![port(80, v1::Protocol::Unspecified), port(443, v1::Protocol::Tcp)];
    out.push(("TCP and UDP ports on two containers", p));

    let mut p = pod("requests", vec![container("app", "app")]);
    spec(&mut p).containers[0].resources = Some(resources(Some(250), Some(536_870_912), None, None));
    out.push(("requests only", p));

    let mut p = pod("limits", vec![container("app", "app"), container("side", "side")]);
    spec(&mut p).containers[0].resources =
        Some(resources(Some(500), Some(1 << 30), Some(2000), Some(4 << 30)));
    spec(&mut p).containers[1].resources =
        Some(resources(Some(100), Some(128 << 20), Some(100), Some(128 << 20)));
    out.push(("limits above requests, clamped to the group", p));

    let mut p = pod("limits-only", vec![container("app", "app")]);
    spec(&mut p).containers[0].resources = Some(resources(None, None, Some(1500), Some(3_000_000_000)));
    out.push(("limits without requests", p));

    let mut p = pod("init", vec![container("app", "app")]);
    let mut init = container("migrate", "migrator");
    init.command = vec!["/migrate".into(), "--all".into()];
    init.env = vec![env("DSN", "SECRET-dsn", true), env("VERBOSE", "1", false)];
    init.resources = Some(resources(Some(2000), Some(2_000_000_000), None, None));
    init.volume_mounts = vec![mount("scratch", "/scratch", false)];
    init.security_context = Some(v1::SecurityContext { run_as_user: Some(1000), ..Default::default() });
    spec(&mut p).init_containers = vec![init, container("wait", "busybox")];
    spec(&mut p).volumes = vec![v1::Volume {
        name: "scratch".into(),
        source: Some(v1::volume::Source::EmptyDir(v1::EmptyDirVolume::default())),
    }];
    spec(&mut p).containers[0].volume_mounts = vec![mount("scratch", "/data", false)];
    out.push(("two init containers with env, mounts and security", p));

    let mut p = pod("http-probes", vec![container("web", "nginx")]);
    spec(&mut p).containers[0].ports = vec![port(8080, v1::Protocol::Tcp)];
    spec(&mut p).containers[0].liveness_probe =
        Some(http_probe("/healthz", 8080, "HTTP", &[("X-Probe", "live")]));
    spec(&mut p).containers[0].readiness_probe =
        Some(http_probe("/ready", 8443, "HTTPS", &[("Authorization", "Bearer x"), ("Accept", "*/*")]));
    out.push(("http probes with headers and https", p));

    let mut p = pod("exec-probes", vec![container("db", "postgres")]);
    spec(&mut p).containers[0].liveness_probe = Some(exec_probe(&["pg_isready"]));
    spec(&mut p).containers[0].readiness_probe = Some(exec_probe(&["sh", "-c", "pg_isready -q"]));
    out.push(("exec probes", p));

    let mut p = pod("emptydir", vec![container("a", "a"), container("b", "b")]);
    spec(&mut p).volumes = vec![v1::Volume {
        name: "shared".into(),
        source: Some(v1::volume::Source::EmptyDir(v1::EmptyDirVolume {
            medium: "Memory".into(),
            size_limit_bytes: Some(1 << 20),
        })),
    }];
    spec(&mut p).containers[0].volume_mounts = vec![mount("shared", "/shared", false)];
    spec(&mut p).containers[1].volume_mounts = vec![mount("shared", "/in", true)];
    out.push(("shared emptyDir, read-only mount", p));

    let mut p = pod("configmap", vec![container("app", "app")]);
    spec(&mut p).volumes =
        vec![files("cfg", "configMap", false, &[("app.yaml", "a: 1"), ("log.conf", "level=info")])];
    spec(&mut p).containers[0].volume_mounts = vec![mount("cfg", "/etc/app", true)];
    out.push(("configMap volume", p));

    let mut p = pod("secret-vol", vec![container("app", "app")]);
    spec(&mut p).volumes =
        vec![files("creds", "secret", true, &[("password", "SECRET-pw"), ("user", "admin")])];
    spec(&mut p).containers[0].volume_mounts = vec![mount("creds", "/etc/creds", true)];
    out.push(("secret volume", p));

    let mut p = pod("nested", vec![container("app", "app")]);
    spec(&mut p).volumes = vec![files(
        "proj",
        "projected",
        false,
        &[("top.txt", "t"), ("conf/a/one", "1"), ("conf/a/two", "2"), ("conf/b", "b")],
    )];
    spec(&mut p).containers[0].volume_mounts = vec![mount("proj", "/etc/proj/", true)];
    out.push(("projected volume with nested paths", p));

    let mut p = pod("sa-token", vec![container("app", "app")]);
    spec(&mut p).volumes = vec![files(
        "kube-api-access",
        "projected",
        true,
        &[("token", "SECRET-token"), ("ca.crt", "-----BEGIN CERTIFICATE-----"), ("namespace", "corpus")],
    )];
    spec(&mut p).containers[0].volume_mounts =
        vec![mount("kube-api-access", "/var/run/secrets/kubernetes.io/serviceaccount", true)];
    spec(&mut p).service_account_name = "app".into();
    out.push(("service account token volume", p));

    let mut p = pod("downward", vec![container("app", "app")]);
    spec(&mut p).volumes =
        vec![files("info", "downwardAPI", false, &[("labels", "app=\"x\""), ("annotations", "")])];
    spec(&mut p).containers[0].volume_mounts = vec![mount("info", "/etc/podinfo", false)];
    out.push(("downwardAPI volume", p));

    let mut p = pod("empty-files", vec![container("app", "app")]);
    spec(&mut p).volumes = vec![files("nothing", "configMap", false, &[])];
    spec(&mut p).containers[0].volume_mounts = vec![mount("nothing", "/etc/nothing", true)];
    out.push(("files volume with no files", p));

    let mut p = pod("azurefile", vec![container("app", "app")]);
    spec(&mut p).volumes = vec![
        v1::Volume {
            name: "share".into(),
            source: Some(v1::volume::Source::AzureFile(v1::AzureFileVolume {
                share_name: "data".into(),
                storage_account_name: "acct".into(),
                storage_account_key: "SECRET-key".into(),
                read_only: true,
            })),
        },
        v1::Volume {
            name: "rw".into(),
            source: Some(v1::volume::Source::AzureFile(v1::AzureFileVolume {
                share_name: "scratch".into(),
                storage_account_name: "acct".into(),
                storage_account_key: "SECRET-key2".into(),
                read_only: false,
            })),
        },
    ];
    spec(&mut p).containers[0].volume_mounts =
        vec![mount("share", "/mnt/data", true), mount("rw", "/mnt/rw", false)];
    out.push(("azureFile volumes", p));

    let mut p = pod("gitrepo", vec![container("app", "app")]);
    spec(&mut p).volumes = vec![
        v1::Volume {
            name: "src".into(),
            source: Some(v1::volume::Source::GitRepo(v1::GitRepoVolume {
                repository: "https://example.com/repo.git".into(),
                directory: ".".into(),
                revision: "0123456789abcdef".into(),
            })),
        },
        v1::Volume {
            name: "plain".into(),
            source: Some(v1::volume::Source::GitRepo(v1::GitRepoVolume {
                repository: "https://example.com/other.git".into(),
                ..Default::default()
            })),
        },
    ];
    spec(&mut p).containers[0].volume_mounts =
        vec![mount("src", "/src", false), mount("plain", "/other", false)];
    out.push(("gitRepo volumes", p));

    let mut p = pod("on-failure", vec![container("job", "job")]);
    spec(&mut p).restart_policy = v1::RestartPolicy::OnFailure as i32;
    out.push(("restart OnFailure", p));

    let mut p = pod("always", vec![container("svc", "svc")]);
    spec(&mut p).restart_policy = v1::RestartPolicy::Always as i32;
    spec(&mut p).os = v1::OsType::Linux as i32;
    out.push(("restart Always, explicit Linux", p));

    let mut p = pod("registry", vec![container("app", "myregistry.azurecr.io/app:1")]);
    spec(&mut p).image_registry_credentials = vec![
        v1::RegistryCredential {
            server: "myregistry.azurecr.io".into(),
            username: "puller".into(),
            password: "SECRET-reg".into(),
        },
        v1::RegistryCredential {
            server: "index.docker.io".into(),
            username: "me".into(),
            password: "SECRET-hub".into(),
        },
    ];
    out.push(("registry credentials", p));

    let mut p = pod("dns-none", vec![container("app", "app")]);
    spec(&mut p).dns_policy = v1::DnsPolicy::None as i32;
    spec(&mut p).dns_config = Some(v1::DnsConfig {
        nameservers: vec!["1.1.1.1".into(), "8.8.8.8".into()],
        searches: vec!["example.com".into(), "corp.example.com".into()],
        options: vec![
            v1::DnsOption { name: "ndots".into(), value: Some("2".into()) },
            v1::DnsOption { name: "edns0".into(), value: None },
        ],
    });
    out.push(("dnsPolicy None with nameservers, searches, options", p));

    let mut p = pod("dns-default", vec![container("app", "app")]);
    spec(&mut p).dns_policy = v1::DnsPolicy::Default as i32;
    spec(&mut p).dns_config =
        Some(v1::DnsConfig { searches: vec!["svc.example".into()], ..Default::default() });
    out.push(("dnsPolicy Default with searches only", p));

    let mut p = pod("dns-label", vec![container("web", "nginx")]);
    spec(&mut p).containers[0].ports = vec![port(80, v1::Protocol::Tcp)];
    annotate(&mut p, "virtualkubelet.io/dnsnamelabel", "corpus-web");
    out.push(("public IP with a DNS name label", p));

    let mut p = pod("vnet", vec![container("api", "api")]);
    spec(&mut p).containers[0].ports = vec![port(9000, v1::Protocol::Tcp)];
    annotate(&mut p, "aci.vk.io/subnet-ids", SUBNET_ID);
    out.push(("VNet subnet from an annotation", p));

    let mut p = pod("confidential", vec![container("enclave", "enclave")]);
    annotate(&mut p, "microsoft.containerinstance.virtualnode.ccepolicy", "cGFja2FnZSBwb2xpY3k=");
    spec(&mut p).containers[0].security_context =
        Some(v1::SecurityContext { privileged: Some(true), ..Default::default() });
    out.push(("confidential SKU with CCE policy and a privileged container", p));

    let mut p = pod("confidential-default", vec![container("c", "c")]);
    annotate(&mut p, "aci.vk.io/sku", "Confidential");
    out.push(("confidential SKU without policy", p));

    let mut p = pod("spot", vec![container("batch", "batch")]);
    annotate(&mut p, "aci.vk.io/priority", "Spot");
    spec(&mut p).restart_policy = v1::RestartPolicy::Never as i32;
    out.push(("Spot priority", p));

    let mut p = pod("identity", vec![container("app", "app")]);
    annotate(&mut p, "microsoft.containerinstance.virtualnode.identity", IDENTITY_ID);
    annotate(&mut p, "aci.vk.io/system-assigned-identity", "true");
    out.push(("system and user-assigned identities", p));

    let mut p = pod("identity-user", vec![container("app", "app")]);
    annotate(&mut p, "microsoft.containerinstance.virtualnode.identity", IDENTITY_ID);
    out.push(("user-assigned identity only", p));

    let mut p = pod("security", vec![container("app", "app")]);
    spec(&mut p).security_context = Some(v1::PodSecurityContext {
        run_as_user: Some(1000),
        run_as_group: Some(3000),
        run_as_non_root: Some(true),
        fs_group: Some(2000),
        seccomp_profile_type: "RuntimeDefault".into(),
        ..Default::default()
    });
    spec(&mut p).containers[0].security_context = Some(v1::SecurityContext {
        allow_privilege_escalation: Some(false),
        capabilities_add: vec!["NET_BIND_SERVICE".into()],
        capabilities_drop: vec!["ALL".into()],
        ..Default::default()
    });
    out.push(("pod and container security contexts", p));

    let mut p = pod(&"very-long-name-".repeat(12), vec![container("app", "app")]);
    p.meta.get_or_insert_with(Default::default).labels.insert("app".into(), "long".into());
    spec(&mut p).hostname = "custom".into();
    spec(&mut p).containers[0].has_lifecycle_hooks = true;
    out.push(("a very long name, labels, hostname and hooks (warnings)", p));

    let many: Vec<_> = (0..12)
        .map(|i| {
            let mut c = container(&format!("c{i}"), "busybox");
            c.resources = Some(resources(Some(100), Some(100_000_000), None, None));
            c.ports = vec![port(8000 + i, v1::Protocol::Tcp)];
            c
        })
        .collect();
    out.push(("twelve small containers", pod("many", many)));

    let mut p = pod("everything", vec![container("main", "main"), container("sidecar", "envoy")]);
    {
        let s = spec(&mut p);
        s.containers[0].command = vec!["/main".into()];
        s.containers[0].args = vec!["--port=8080".into()];
        s.containers[0].env = vec![env("A", "1", false), env("TOKEN", "SECRET-main", true)];
        s.containers[0].ports = vec![port(8080, v1::Protocol::Tcp)];
        s.containers[0].resources = Some(resources(Some(1000), Some(2 << 30), Some(2000), None));
        s.containers[0].liveness_probe = Some(http_probe("/live", 8080, "", &[]));
        s.containers[0].volume_mounts =
            vec![mount("cfg", "/etc/main", true), mount("cache", "/cache", false)];
        s.containers[1].ports = vec![port(9901, v1::Protocol::Tcp), port(9902, v1::Protocol::Udp)];
        s.containers[1].readiness_probe = Some(exec_probe(&["true"]));
        s.volumes = vec![
            files("cfg", "configMap", false, &[("main.toml", "x = 1"), ("nested/extra.toml", "y = 2")]),
            v1::Volume {
                name: "cache".into(),
                source: Some(v1::volume::Source::EmptyDir(Default::default())),
            },
        ];
        s.restart_policy = v1::RestartPolicy::OnFailure as i32;
        s.image_registry_credentials = vec![v1::RegistryCredential {
            server: "r.io".into(),
            username: "u".into(),
            password: "SECRET-r".into(),
        }];
        s.dns_policy = v1::DnsPolicy::ClusterFirst as i32;
    }
    annotate(&mut p, "virtualkubelet.io/dnsnamelabel", "corpus-everything");
    annotate(&mut p, "microsoft.containerinstance.virtualnode.identity", IDENTITY_ID);
    out.push(("everything at once", p));
    out
}
