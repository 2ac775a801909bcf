//! Volumes and mounts.
//!
//! Files volumes (configMap, secret, projected, downwardAPI, already resolved by the agent)
//! become ACI `secret` volumes: a map of file name to base64 contents, always stored encrypted
//! and never returned by ARM. ACI's keys are plain file names, so a files volume whose paths
//! have directories (`sub/dir/key`) becomes one ACI volume per directory: the top-level files
//! keep the pod volume's name, each directory gets `<name>-<hash of the directory>`, and every
//! mount of the pod volume mounts each directory volume at `<mountPath>/<directory>`. Those extra
//! volumes count towards ACI's volume maximum. File modes are not applied (ACI has no setting).

use std::collections::{BTreeMap, HashMap, HashSet};

use base64::Engine as _;
use sha2::{Digest, Sha256};
use vk_proto::v1;

use super::config::GroupOs;
use super::problems::Findings;
use crate::model::{AzureFileVolume, EmptyDirVolume, GitRepoVolume, SecretVolume, Volume, VolumeMount};

/// ACI volumes of a pod and where each pod volume's pieces go.
#[derive(Debug, Default)]
pub(crate) struct VolumePlan {
    pub volumes: Vec<Volume>,
    /// Pod volume name to (directory inside the mount, ACI volume name).
    pieces: HashMap<String, Vec<(String, String)>>,
    /// Every pod volume name, translated or refused.
    declared: HashSet<String>,
}

fn directory_volume_name(volume: &str, directory: &str) -> String {
    let hash = hex::encode(Sha256::digest(directory.as_bytes()));
    let cut: String = volume.chars().take(63 - 9).collect();
    format!("{}-{}", cut.trim_end_matches('-'), &hash[..8])
}

fn unsupported_reason(kind: &str) -> &'static str {
    match kind {
        "hostPath" => "host paths do not exist on ACI",
        "persistentVolumeClaim" => "ACI cannot attach persistent volumes; use an azureFile volume",
        "ephemeral" => "ACI cannot provision volumes; use emptyDir or azureFile",
        _ => {
            "ACI supports only emptyDir, azureFile, gitRepo and file volumes (configMap, secret, projected, downwardAPI)"
        }
    }
}

/// The service account token volume Kubernetes adds to every pod that does not opt out
/// (`kube-api-access-*` projected, or the older `<account>-token-*` secret): files holding a
/// `token`, under the name Kubernetes gives it.
fn is_service_account_token(volume: &v1::Volume) -> bool {
    let Some(v1::volume::Source::Files(files)) = &volume.source else { return false };
    let named = volume.name.starts_with("kube-api-access-")
        || (files.kind == "secret" && volume.name.contains("-token-"));
    named && files.files.iter().any(|f| f.path == "token")
}

/// Converts the pod's volumes.
pub(crate) fn plan(
    volumes: &[v1::Volume],
    os: GroupOs,
    max_volumes: usize,
    findings: &mut Findings,
) -> VolumePlan {
    let mut plan = VolumePlan::default();
    for (i, volume) in volumes.iter().enumerate() {
        let path = format!("spec.volumes[{i}]");
        plan.declared.insert(volume.name.clone());
        if os == GroupOs::Windows && is_service_account_token(volume) {
            findings.warn(
                path,
                "left out: ACI mounts volumes only in Linux container groups, so this Windows group \
                 gets no service account token",
            );
            continue;
        }
        if os == GroupOs::Windows {
            findings.refuse(
                path,
                "ACI mounts volumes only in Linux container groups; remove the volume or run the pod on a \
                 Linux node",
            );
            continue;
        }
        let base = Volume { name: volume.name.clone(), ..Default::default() };
        let add = |plan: &mut VolumePlan, directory: String, v: Volume| {
            plan.pieces.entry(volume.name.clone()).or_default().push((directory, v.name.clone()));
            plan.volumes.push(v);
        };
        match &volume.source {
            Some(v1::volume::Source::EmptyDir(dir)) => {
                if dir.medium == "Memory" || dir.size_limit_bytes.is_some() {
                    findings.warn(
                        format!("{path}.emptyDir"),
                        "medium and sizeLimit are not applied: ACI's emptyDir is on disk",
                    );
                }
                add(&mut plan, String::new(), Volume { empty_dir: Some(EmptyDirVolume {}), ..base });
            }
            Some(v1::volume::Source::Files(files)) => {
                let mut by_dir: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
                for (j, file) in files.files.iter().enumerate() {
                    let (dir, name) = file.path.rsplit_once('/').unwrap_or(("", &file.path));
                    if name.is_empty() || file.path.starts_with('/') {
                        findings.refuse(format!("{path}.files[{j}].path"), "not a relative file path");
                        continue;
                    }
                    let content = base64::engine::general_purpose::STANDARD.encode(&file.content);
                    by_dir.entry(dir.to_string()).or_default().insert(name.to_string(), content);
                }
                if by_dir.is_empty() {
                    add(&mut plan, String::new(), Volume { empty_dir: Some(EmptyDirVolume {}), ..base });
                }
                for (dir, entries) in by_dir {
                    let name = if dir.is_empty() {
                        volume.name.clone()
                    } else {
                        directory_volume_name(&volume.name, &dir)
                    };
                    add(
                        &mut plan,
                        dir,
                        Volume { name, secret: Some(SecretVolume(entries)), ..Default::default() },
                    );
                }
            }
            Some(v1::volume::Source::AzureFile(share)) => {
                let azure_file = AzureFileVolume {
                    share_name: share.share_name.clone(),
                    read_only: share.read_only.then_some(true),
                    storage_account_name: share.storage_account_name.clone(),
                    storage_account_key: (!share.storage_account_key.is_empty())
                        .then(|| share.storage_account_key.clone()),
                };
                if share.share_name.is_empty() || share.storage_account_name.is_empty() {
                    findings
                        .refuse(format!("{path}.azureFile"), "needs a share name and a storage account name");
                }
                add(&mut plan, String::new(), Volume { azure_file: Some(azure_file), ..base });
            }
            Some(v1::volume::Source::GitRepo(repo)) => {
                let git_repo = GitRepoVolume {
                    directory: (!repo.directory.is_empty()).then(|| repo.directory.clone()),
                    repository: repo.repository.clone(),
                    revision: (!repo.revision.is_empty()).then(|| repo.revision.clone()),
                };
                add(&mut plan, String::new(), Volume { git_repo: Some(git_repo), ..base });
            }
            Some(v1::volume::Source::Unsupported(other)) => {
                findings.refuse(format!("{path}.{}", other.kind), unsupported_reason(&other.kind));
            }
            None => findings.refuse(path, "a volume needs a source"),
        }
    }
    if plan.volumes.len() > max_volumes {
        findings.refuse(
            "spec.volumes",
            format!(
                "the pod needs {} ACI volumes (a files volume with directories needs one per directory); \
                 ACI allows at most {max_volumes}",
                plan.volumes.len()
            ),
        );
    }
    plan
}

impl VolumePlan {
    /// Converts a container's mounts.
    pub(crate) fn mounts(
        &self,
        mounts: &[v1::VolumeMount],
        path: &str,
        findings: &mut Findings,
    ) -> Vec<VolumeMount> {
        let mut out = Vec::new();
        for (i, mount) in mounts.iter().enumerate() {
            let path = format!("{path}.volumeMounts[{i}]");
            if !mount.sub_path.is_empty() {
                findings.refuse(
                    format!("{path}.subPath"),
                    "ACI cannot mount part of a volume; mount the whole volume",
                );
            }
            if !mount.mount_path.starts_with('/') || mount.mount_path.contains(':') {
                findings.refuse(format!("{path}.mountPath"), "ACI needs an absolute mount path without ':'");
            }
            let Some(pieces) = self.pieces.get(&mount.name) else {
                // A refused volume already has its own problem; only unknown names are new ones.
                if !self.declared.contains(&mount.name) {
                    findings
                        .refuse(format!("{path}.name"), format!("no usable volume named {:?}", mount.name));
                }
                continue;
            };
            for (directory, volume) in pieces {
                let mount_path = if directory.is_empty() {
                    mount.mount_path.clone()
                } else {
                    format!("{}/{directory}", mount.mount_path.trim_end_matches('/'))
                };
                out.push(VolumeMount {
                    name: volume.clone(),
                    mount_path,
                    read_only: mount.read_only.then_some(true),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(name: &str, paths: &[(&str, &[u8])]) -> v1::Volume {
        v1::Volume {
            name: name.into(),
            source: Some(v1::volume::Source::Files(v1::FilesVolume {
                kind: "configMap".into(),
                files: paths
                    .iter()
                    .map(|(p, c)| v1::File { path: p.to_string(), content: c.to_vec(), mode: None })
                    .collect(),
                secret: false,
            })),
        }
    }

    #[test]
    fn a_windows_pod_leaves_out_its_service_account_token_with_a_warning_but_refuses_other_volumes() {
        let mut token =
            files("kube-api-access-x7k2p", &[("token", b"t"), ("ca.crt", b"c"), ("namespace", b"n")]);
        if let Some(v1::volume::Source::Files(f)) = &mut token.source {
            f.kind = "projected".into();
        }
        let mut findings = Findings::default();
        let planned = plan(&[token.clone()], GroupOs::Windows, 20, &mut findings);
        assert!(planned.volumes.is_empty(), "no ACI volume for the token");
        let mounts = planned.mounts(
            &[v1::VolumeMount {
                name: token.name.clone(),
                mount_path: "/var/run/secrets/kubernetes.io/serviceaccount".into(),
                read_only: true,
                sub_path: String::new(),
            }],
            "spec.containers[0]",
            &mut findings,
        );
        assert!(mounts.is_empty(), "its mount is left out too");
        let warnings = findings.finish().expect("nothing refused");
        assert!(warnings.iter().any(|w| w.contains("no service account token")), "{warnings:?}");

        let mut findings = Findings::default();
        plan(&[token, files("config", &[("a", b"1")])], GroupOs::Windows, 20, &mut findings);
        assert!(findings.finish().is_err(), "any other volume is still refused on Windows");
    }

    #[test]
    fn flat_files_become_one_secret_volume_in_base64() {
        let mut findings = Findings::default();
        let plan = plan(&[files("cfg", &[("a.txt", b"hello")])], GroupOs::Linux, 20, &mut findings);
        let secret = plan.volumes[0].secret.as_ref().expect("a secret volume");
        assert_eq!(secret.0.get("a.txt").map(String::as_str), Some("aGVsbG8="));
    }

    #[test]
    fn nested_paths_become_one_volume_per_directory_mounted_below_the_mount_path() {
        let mut findings = Findings::default();
        let plan =
            plan(&[files("cfg", &[("top", b"1"), ("sub/dir/key", b"2")])], GroupOs::Linux, 20, &mut findings);
        assert_eq!(plan.volumes.len(), 2);
        let mounts = plan.mounts(
            &[v1::VolumeMount {
                name: "cfg".into(),
                mount_path: "/etc/cfg".into(),
                read_only: true,
                sub_path: String::new(),
            }],
            "c",
            &mut findings,
        );
        let paths: Vec<_> = mounts.iter().map(|m| m.mount_path.as_str()).collect();
        assert_eq!(paths, vec!["/etc/cfg", "/etc/cfg/sub/dir"]);
        assert_eq!(
            plan.volumes[1].secret.as_ref().expect("dir volume").0.keys().collect::<Vec<_>>(),
            vec!["key"]
        );
        assert!(findings.finish().is_ok());
    }

    #[test]
    fn host_paths_and_sub_paths_are_refused_together() {
        let mut findings = Findings::default();
        let host = v1::Volume {
            name: "h".into(),
            source: Some(v1::volume::Source::Unsupported(v1::UnsupportedVolume {
                kind: "hostPath".into(),
                detail: "/var".into(),
            })),
        };
        let plan = plan(&[host, files("cfg", &[("a", b"")])], GroupOs::Linux, 20, &mut findings);
        plan.mounts(
            &[v1::VolumeMount {
                name: "cfg".into(),
                mount_path: "/x".into(),
                read_only: false,
                sub_path: "a".into(),
            }],
            "spec.containers[0]",
            &mut findings,
        );
        let refusal = findings.finish().expect_err("two problems");
        let paths: Vec<_> = refusal.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, vec!["spec.volumes[0].hostPath", "spec.containers[0].volumeMounts[0].subPath"]);
    }
}
