use k8s_openapi::api::core::v1::{
    AzureFileVolumeSource, ConfigMapProjection, ConfigMapVolumeSource, DownwardAPIVolumeFile,
    DownwardAPIVolumeSource, EmptyDirVolumeSource, GitRepoVolumeSource, HostPathVolumeSource, KeyToPath,
    LocalObjectReference, ObjectFieldSelector, ProjectedVolumeSource, SecretVolumeSource,
    ServiceAccountTokenProjection, Volume, VolumeProjection,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use vk_proto::v1::volume::Source;
use vk_proto::v1::{File, FilesVolume};

use super::*;

fn with_volume(volume: Volume) -> Pod {
    pod(Container::default(), |spec| spec.volumes = Some(vec![volume]))
}

fn named(name: &str) -> Volume {
    Volume { name: name.into(), ..Volume::default() }
}

fn source_of(resolution: &Resolution) -> Source {
    let spec = resolution.pod.as_proto().spec.as_ref().expect("spec");
    spec.volumes[0].source.clone().expect("volume source")
}

fn files_of(resolution: &Resolution) -> FilesVolume {
    match source_of(resolution) {
        Source::Files(files) => files,
        other => panic!("expected files, got another source kind: {}", matches!(other, Source::EmptyDir(_))),
    }
}

fn file(path: &str, content: &[u8], mode: i32) -> File {
    File { path: path.into(), content: content.to_vec(), mode: Some(mode) }
}

#[tokio::test]
async fn config_map_volumes_honour_items_paths_and_modes() {
    let source = MemorySource::default().config_map("shop", "cfg", &[("a.yaml", "A"), ("b.yaml", "B")]);
    let all = Volume {
        config_map: Some(ConfigMapVolumeSource {
            name: "cfg".into(),
            default_mode: Some(0o400),
            ..Default::default()
        }),
        ..named("cfg")
    };
    let files = files_of(&resolve(&source, &with_volume(all)).await.expect("resolvable"));
    assert_eq!((files.kind.as_str(), files.secret), ("configMap", false));
    assert_eq!(
        files.files,
        [file("a.yaml", b"A", 0o400), file("b.yaml", b"B", 0o400), file("blob", &[0, 1, 2], 0o400)]
    );

    let items = Volume {
        config_map: Some(ConfigMapVolumeSource {
            name: "cfg".into(),
            items: Some(vec![KeyToPath { key: "b.yaml".into(), path: "conf/b".into(), mode: Some(0o600) }]),
            ..Default::default()
        }),
        ..named("cfg")
    };
    let files = files_of(&resolve(&source, &with_volume(items)).await.expect("resolvable"));
    assert_eq!(files.files, [file("conf/b", b"B", 0o600)]);

    let missing_key = Volume {
        config_map: Some(ConfigMapVolumeSource {
            name: "cfg".into(),
            items: Some(vec![KeyToPath { key: "zzz".into(), path: "z".into(), mode: None }]),
            ..Default::default()
        }),
        ..named("cfg")
    };
    let error = resolve(&source, &with_volume(missing_key)).await.expect_err("key is absent");
    assert_eq!(error.to_string(), "volume \"cfg\": couldn't find key zzz in ConfigMap shop/cfg");
}

#[tokio::test]
async fn secret_volumes_are_secret_and_optional_ones_may_be_absent() {
    let source = MemorySource::default().secret("shop", "tls", "kubernetes.io/tls", &[("tls.key", "KEY")]);
    let present = Volume {
        secret: Some(SecretVolumeSource { secret_name: Some("tls".into()), ..Default::default() }),
        ..named("tls")
    };
    let files = files_of(&resolve(&source, &with_volume(present)).await.expect("resolvable"));
    assert!(files.secret);
    assert_eq!(files.files, [file("tls.key", b"KEY", 0o644)]);

    let optional = Volume {
        secret: Some(SecretVolumeSource {
            secret_name: Some("gone".into()),
            optional: Some(true),
            ..Default::default()
        }),
        ..named("opt")
    };
    assert!(files_of(&resolve(&source, &with_volume(optional)).await.expect("optional")).files.is_empty());

    let required = Volume {
        secret: Some(SecretVolumeSource { secret_name: Some("gone".into()), ..Default::default() }),
        ..named("req")
    };
    let error = resolve(&source, &with_volume(required)).await.expect_err("secret is absent");
    assert_eq!(error.to_string(), "volume \"req\": secret \"gone\" not found");
}

#[tokio::test]
async fn downward_api_volumes_write_pod_fields() {
    let volume = Volume {
        downward_api: Some(DownwardAPIVolumeSource {
            items: Some(vec![
                DownwardAPIVolumeFile {
                    path: "labels".into(),
                    field_ref: Some(ObjectFieldSelector {
                        field_path: "metadata.labels".into(),
                        api_version: None,
                    }),
                    ..Default::default()
                },
                DownwardAPIVolumeFile {
                    path: "name".into(),
                    field_ref: Some(ObjectFieldSelector {
                        field_path: "metadata.name".into(),
                        api_version: None,
                    }),
                    mode: Some(0o444),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        }),
        ..named("info")
    };
    let files = files_of(&resolve(&MemorySource::default(), &with_volume(volume)).await.expect("resolvable"));
    assert_eq!(files.files, [file("labels", b"app=\"web\"", 0o644), file("name", b"web-1", 0o444)]);
}

#[tokio::test]
async fn projected_volumes_merge_sources_and_request_bound_tokens() {
    let source = MemorySource::default()
        .config_map("shop", "ca", &[("ca.crt", "CA")])
        .service_account("shop", "robot");
    let volume = Volume {
        projected: Some(ProjectedVolumeSource {
            default_mode: Some(0o440),
            sources: Some(vec![
                VolumeProjection {
                    service_account_token: Some(ServiceAccountTokenProjection {
                        audience: Some("api://aci".into()),
                        expiration_seconds: Some(7200),
                        path: "token".into(),
                    }),
                    ..Default::default()
                },
                VolumeProjection {
                    config_map: Some(ConfigMapProjection {
                        name: "ca".into(),
                        items: Some(vec![KeyToPath {
                            key: "ca.crt".into(),
                            path: "ca.crt".into(),
                            mode: None,
                        }]),
                        optional: None,
                    }),
                    ..Default::default()
                },
            ]),
        }),
        ..named("kube-api-access")
    };
    let pod = pod(Container::default(), |spec| {
        spec.volumes = Some(vec![volume]);
        spec.service_account_name = Some("robot".into());
    });
    let first = resolve(&source, &pod).await.expect("resolvable");
    let files = files_of(&first);
    assert!(files.secret, "a token makes the volume secret");
    assert_eq!(files.files, [file("token", b"token-robot-1", 0o440), file("ca.crt", b"CA", 0o440)]);
    let requests = source.token_requests.lock().expect("lock").clone();
    assert_eq!(requests.len(), 1);
    let (account, params) = &requests[0];
    assert_eq!(account, "robot");
    assert_eq!(params.audiences, ["api://aci"]);
    assert_eq!(params.expiration_seconds, 7200);
    assert_eq!((params.pod_name.as_str(), params.pod_uid.as_str()), ("web-1", "uid-1"));

    let second = resolve(&source, &pod).await.expect("resolvable");
    assert_eq!(first.pod.spec_hash(), second.pod.spec_hash(), "a fresh token is not a change");
    assert_ne!(first.pod.as_proto(), second.pod.as_proto());
}

#[tokio::test]
async fn a_token_for_a_missing_service_account_is_a_missing_reference() {
    let volume = Volume {
        projected: Some(ProjectedVolumeSource {
            sources: Some(vec![VolumeProjection {
                service_account_token: Some(ServiceAccountTokenProjection {
                    path: "t".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            default_mode: None,
        }),
        ..named("tok")
    };
    let error =
        resolve(&MemorySource::default(), &with_volume(volume)).await.expect_err("no service account");
    assert_eq!(error.to_string(), "volume \"tok\" sources[0]: serviceaccount \"default\" not found");
}

#[tokio::test]
async fn empty_dir_azure_file_git_repo_and_host_path_volumes_are_described() {
    let empty = Volume {
        empty_dir: Some(EmptyDirVolumeSource {
            medium: Some("Memory".into()),
            size_limit: Some(Quantity("64Mi".into())),
        }),
        ..named("scratch")
    };
    match source_of(&resolve(&MemorySource::default(), &with_volume(empty)).await.expect("resolvable")) {
        Source::EmptyDir(dir) => {
            assert_eq!((dir.medium.as_str(), dir.size_limit_bytes), ("Memory", Some(64 << 20)))
        }
        _ => panic!("expected an emptyDir"),
    }

    let source = MemorySource::default().secret(
        "shop",
        "azure",
        "Opaque",
        &[("azurestorageaccountname", "acct"), ("azurestorageaccountkey", "k3y")],
    );
    let azure = Volume {
        azure_file: Some(AzureFileVolumeSource {
            secret_name: "azure".into(),
            share_name: "share".into(),
            read_only: Some(true),
        }),
        ..named("files")
    };
    match source_of(&resolve(&source, &with_volume(azure)).await.expect("resolvable")) {
        Source::AzureFile(az) => {
            assert_eq!((az.share_name.as_str(), az.storage_account_name.as_str()), ("share", "acct"));
            assert_eq!((az.storage_account_key.as_str(), az.read_only), ("k3y", true));
        }
        _ => panic!("expected an azureFile"),
    }

    let git = Volume {
        git_repo: Some(GitRepoVolumeSource {
            repository: "https://example.com/r.git".into(),
            directory: Some(".".into()),
            revision: Some("abc123".into()),
        }),
        ..named("src")
    };
    match source_of(&resolve(&MemorySource::default(), &with_volume(git)).await.expect("resolvable")) {
        Source::GitRepo(repo) => {
            assert_eq!(
                (repo.repository.as_str(), repo.directory.as_str()),
                ("https://example.com/r.git", ".")
            );
            assert_eq!(repo.revision, "abc123");
        }
        _ => panic!("expected a gitRepo"),
    }

    let host = Volume {
        host_path: Some(HostPathVolumeSource { path: "/var/run".into(), type_: None }),
        ..named("host")
    };
    match source_of(&resolve(&MemorySource::default(), &with_volume(host)).await.expect("resolvable")) {
        Source::Unsupported(u) => assert_eq!((u.kind.as_str(), u.detail.as_str()), ("hostPath", "/var/run")),
        _ => panic!("expected an unsupported volume"),
    }
}

#[tokio::test]
async fn pull_secrets_become_registry_credentials_and_missing_ones_warn() {
    let source = MemorySource::default().secret(
        "shop",
        "acr",
        "kubernetes.io/dockerconfigjson",
        &[(".dockerconfigjson", r#"{"auths":{"my.azurecr.io":{"username":"u","password":"p"}}}"#)],
    );
    let pod = pod(Container::default(), |spec| {
        spec.image_pull_secrets = Some(vec![
            LocalObjectReference { name: "acr".into() },
            LocalObjectReference { name: "gone".into() },
        ]);
    });
    let resolution = resolve(&source, &pod).await.expect("resolvable");
    let spec = resolution.pod.as_proto().spec.as_ref().expect("spec");
    assert_eq!(spec.image_registry_credentials.len(), 1);
    assert_eq!(spec.image_registry_credentials[0].server, "my.azurecr.io");
    assert_eq!(resolution.warnings.len(), 1);
    assert!(resolution.warnings[0].message.contains("(gone)"), "{}", resolution.warnings[0].message);
}
