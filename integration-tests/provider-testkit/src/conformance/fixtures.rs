//! Realistic pods the suite creates: `busybox` running small `sh -c` scripts.

use vk_proto::v1::{self as pb, volume::Source};

/// Namespace of every pod the suite creates.
pub const NAMESPACE: &str = "conformance";

fn meta(uid: &str, name: &str) -> pb::PodMeta {
    pb::PodMeta {
        uid: uid.to_owned(),
        namespace: NAMESPACE.to_owned(),
        name: name.to_owned(),
        labels: [("app".to_owned(), name.to_owned())].into(),
        ..Default::default()
    }
}

fn container(name: &str, script: &str) -> pb::Container {
    pb::Container {
        name: name.to_owned(),
        image: "busybox:1.36".to_owned(),
        command: vec!["sh".to_owned(), "-c".to_owned(), script.to_owned()],
        resources: Some(pb::ResourceRequirements {
            requests: Some(pb::ResourceList {
                cpu_millis: Some(100),
                memory_bytes: Some(128 << 20),
                ..Default::default()
            }),
            limits: None,
        }),
        ..Default::default()
    }
}

/// A one-container pod running `script`.
pub fn script_pod(uid: &str, name: &str, script: &str, restart: pb::RestartPolicy) -> pb::Pod {
    pb::Pod {
        meta: Some(meta(uid, name)),
        spec: Some(pb::PodSpec {
            os: pb::OsType::Linux as i32,
            containers: vec![container("main", script)],
            restart_policy: restart as i32,
            ..Default::default()
        }),
        spec_hash: format!("{uid}-v1"),
    }
}

/// A pod that runs until deleted.
pub fn sleeper(uid: &str, name: &str) -> pb::Pod {
    script_pod(uid, name, "sleep 3600", pb::RestartPolicy::Always)
}

/// A pod that runs until deleted and declares a TCP port, as a server would.
pub fn server(uid: &str, name: &str) -> pb::Pod {
    let mut pod = sleeper(uid, name);
    if let Some(container) = pod.spec.as_mut().and_then(|s| s.containers.first_mut()) {
        container.ports = vec![pb::ContainerPort {
            name: "http".into(),
            container_port: 8080,
            protocol: pb::Protocol::Tcp as i32,
            host_port: 0,
        }];
    }
    pod
}

/// A pod whose main process copies its stdin to its output (for attach).
pub fn stdin_pod(uid: &str, name: &str) -> pb::Pod {
    let mut pod = script_pod(uid, name, "cat", pb::RestartPolicy::Never);
    if let Some(container) = pod.spec.as_mut().and_then(|s| s.containers.first_mut()) {
        container.command = vec!["cat".to_owned()];
        container.stdin = true;
        container.stdin_once = true;
    }
    pod
}

/// A pod using much of the API's surface, to check GetPod returns it field for field.
pub fn rich_pod(uid: &str) -> pb::Pod {
    let mut main = container("main", "sleep 3600");
    main.args = vec![];
    main.env = vec![
        pb::EnvVar { name: "PLAIN".into(), value: "a value with spaces".into(), secret: false },
        pb::EnvVar { name: "PASSWORD".into(), value: "s3cret".into(), secret: true },
    ];
    main.ports = vec![pb::ContainerPort {
        name: "http".into(),
        container_port: 8080,
        protocol: pb::Protocol::Tcp as i32,
        host_port: 0,
    }];
    main.volume_mounts = vec![
        pb::VolumeMount {
            name: "config".into(),
            mount_path: "/etc/app".into(),
            read_only: true,
            sub_path: String::new(),
        },
        pb::VolumeMount {
            name: "scratch".into(),
            mount_path: "/scratch".into(),
            read_only: false,
            sub_path: String::new(),
        },
    ];
    main.readiness_probe = Some(pb::Probe {
        handler: Some(pb::probe::Handler::Exec(pb::ExecAction { command: vec!["true".into()] })),
        initial_delay_seconds: 1,
        period_seconds: 10,
        timeout_seconds: 1,
        success_threshold: 1,
        failure_threshold: 3,
    });
    main.liveness_probe = Some(pb::Probe {
        handler: Some(pb::probe::Handler::HttpGet(pb::HttpGetAction {
            path: "/healthz".into(),
            port: 8080,
            scheme: "HTTP".into(),
            host: String::new(),
            http_headers: vec![pb::HttpHeader { name: "X-Probe".into(), value: "conformance".into() }],
        })),
        initial_delay_seconds: 0,
        period_seconds: 10,
        timeout_seconds: 1,
        success_threshold: 1,
        failure_threshold: 3,
    });
    main.image_pull_policy = pb::PullPolicy::IfNotPresent as i32;
    main.security_context = Some(pb::SecurityContext {
        allow_privilege_escalation: Some(false),
        capabilities_drop: vec!["ALL".into()],
        ..Default::default()
    });
    let mut init = container("init", "echo init done");
    init.resources = None;
    let mut meta = meta(uid, "rich");
    meta.annotations = [("example.com/note".to_owned(), "kept as given".to_owned())].into();
    meta.creation_timestamp = Some(prost_types::Timestamp { seconds: 1_700_000_000, nanos: 0 });
    meta.owners = vec!["ReplicaSet/rich-5d9c".into()];
    pb::Pod {
        meta: Some(meta),
        spec: Some(pb::PodSpec {
            os: pb::OsType::Linux as i32,
            init_containers: vec![init],
            containers: vec![main],
            volumes: vec![
                pb::Volume {
                    name: "config".into(),
                    source: Some(Source::Files(pb::FilesVolume {
                        kind: "secret".into(),
                        files: vec![pb::File {
                            path: "app.conf".into(),
                            content: b"key=value\n".to_vec(),
                            mode: Some(0o400),
                        }],
                        secret: true,
                    })),
                },
                pb::Volume {
                    name: "scratch".into(),
                    source: Some(Source::EmptyDir(pb::EmptyDirVolume {
                        medium: String::new(),
                        size_limit_bytes: Some(1 << 30),
                    })),
                },
            ],
            restart_policy: pb::RestartPolicy::Always as i32,
            image_registry_credentials: vec![pb::RegistryCredential {
                server: "registry.example.com".into(),
                username: "puller".into(),
                password: "pull-secret".into(),
            }],
            dns_policy: pb::DnsPolicy::ClusterFirst as i32,
            dns_config: Some(pb::DnsConfig {
                nameservers: vec![],
                searches: vec!["conformance.svc.cluster.local".into()],
                options: vec![pb::DnsOption { name: "ndots".into(), value: Some("2".into()) }],
            }),
            hostname: "rich".into(),
            termination_grace_period_seconds: Some(5),
            service_account_name: "default".into(),
            ..Default::default()
        }),
        spec_hash: format!("{uid}-rich-v1"),
    }
}

/// A pod that can never run anywhere like ACI: two independent problems.
pub fn impossible_pod(uid: &str) -> pb::Pod {
    let mut pod = sleeper(uid, "impossible");
    if let Some(spec) = pod.spec.as_mut() {
        spec.host_network = true;
        spec.volumes.push(pb::Volume {
            name: "host".into(),
            source: Some(Source::Unsupported(pb::UnsupportedVolume {
                kind: "hostPath".into(),
                detail: "/var/run".into(),
            })),
        });
    }
    pod
}

/// Blanks the secret values of `pod` wherever `returned` has them blank (the one allowed
/// difference between a pod as given and as returned).
pub fn blank_secrets_like(pod: &mut pb::Pod, returned: &pb::Pod) {
    let (Some(spec), Some(returned_spec)) = (pod.spec.as_mut(), returned.spec.as_ref()) else { return };
    for (container, returned_container) in spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut())
        .zip(returned_spec.containers.iter().chain(returned_spec.init_containers.iter()))
    {
        for (env, returned_env) in container.env.iter_mut().zip(&returned_container.env) {
            if env.secret && returned_env.value.is_empty() {
                env.value.clear();
            }
        }
    }
    for (volume, returned_volume) in spec.volumes.iter_mut().zip(&returned_spec.volumes) {
        match (&mut volume.source, &returned_volume.source) {
            (Some(Source::Files(files)), Some(Source::Files(returned_files))) if files.secret => {
                for (file, returned_file) in files.files.iter_mut().zip(&returned_files.files) {
                    if returned_file.content.is_empty() {
                        file.content.clear();
                    }
                }
            }
            (Some(Source::AzureFile(share)), Some(Source::AzureFile(returned_share)))
                if returned_share.storage_account_key.is_empty() =>
            {
                share.storage_account_key.clear();
            }
            _ => {}
        }
    }
    for (credential, returned_credential) in
        spec.image_registry_credentials.iter_mut().zip(&returned_spec.image_registry_credentials)
    {
        if returned_credential.password.is_empty() {
            credential.password.clear();
        }
    }
}
