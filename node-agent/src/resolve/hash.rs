//! `spec_hash`: SHA-256 over a canonical encoding of the resolved pod.
//!
//! Protobuf encoding is deterministic except for map fields (hash-map order), so maps are
//! taken out, sorted and hashed after the encoded rest. Service account token contents are
//! left out: a fresh token is issued on every resolution and must not look like a change.

use std::collections::{BTreeMap, HashMap};

use prost::Message;
use sha2::{Digest, Sha256};
use vk_proto::v1::volume::Source;
use vk_proto::v1::{Container, Pod};

/// Where the token files are: (volume index, file index).
pub type TokenFiles = [(usize, usize)];

/// The hex SHA-256 of `pod` (whose own `spec_hash` is ignored).
pub fn spec_hash(pod: &Pod, tokens: &TokenFiles) -> String {
    let mut canonical = pod.clone();
    canonical.spec_hash.clear();
    let mut maps: Vec<(String, BTreeMap<String, String>)> = Vec::new();
    let mut take = |label: String, map: &mut HashMap<String, String>| {
        maps.push((label, std::mem::take(map).into_iter().collect()));
    };
    if let Some(meta) = canonical.meta.as_mut() {
        take("labels".into(), &mut meta.labels);
        take("annotations".into(), &mut meta.annotations);
    }
    if let Some(spec) = canonical.spec.as_mut() {
        if let Some(security) = spec.security_context.as_mut() {
            take("sysctls".into(), &mut security.sysctls);
        }
        for (group, containers) in [("init", &mut spec.init_containers), ("main", &mut spec.containers)] {
            for (index, container) in containers.iter_mut().enumerate() {
                take_extended(container, &format!("{group}[{index}]"), &mut take);
            }
        }
        for &(volume, file) in tokens {
            if let Some(Source::Files(files)) = spec.volumes.get_mut(volume).and_then(|v| v.source.as_mut())
                && let Some(file) = files.files.get_mut(file)
            {
                file.content = b"<service account token>".to_vec();
            }
        }
    }
    let mut digest = Sha256::new();
    let encoded = canonical.encode_to_vec();
    digest.update((encoded.len() as u64).to_be_bytes());
    digest.update(&encoded);
    for (label, map) in maps {
        for part in std::iter::once(&label).chain(map.iter().flat_map(|(k, v)| [k, v])) {
            digest.update((part.len() as u64).to_be_bytes());
            digest.update(part.as_bytes());
        }
    }
    hex::encode(digest.finalize())
}

fn take_extended(
    container: &mut Container,
    label: &str,
    take: &mut impl FnMut(String, &mut HashMap<String, String>),
) {
    let Some(resources) = container.resources.as_mut() else { return };
    for (which, list) in [("requests", &mut resources.requests), ("limits", &mut resources.limits)] {
        if let Some(list) = list.as_mut() {
            let mut as_text: HashMap<String, String> =
                std::mem::take(&mut list.extended).into_iter().map(|(k, v)| (k, v.to_string())).collect();
            take(format!("{label}.{which}"), &mut as_text);
        }
    }
}

#[cfg(test)]
mod tests {
    use vk_proto::v1::{File, FilesVolume, PodMeta, PodSpec, Volume};

    use super::*;

    fn pod(labels: &[(&str, &str)], token: &str) -> Pod {
        Pod {
            meta: Some(PodMeta {
                uid: "u".into(),
                labels: labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
                ..PodMeta::default()
            }),
            spec: Some(PodSpec {
                volumes: vec![Volume {
                    name: "token".into(),
                    source: Some(Source::Files(FilesVolume {
                        kind: "projected".into(),
                        files: vec![File {
                            path: "token".into(),
                            content: token.as_bytes().to_vec(),
                            mode: None,
                        }],
                        secret: true,
                    })),
                }],
                ..PodSpec::default()
            }),
            spec_hash: String::new(),
        }
    }

    #[test]
    fn the_hash_does_not_depend_on_map_order_or_token_contents() {
        let many: Vec<(String, String)> = (0..50).map(|i| (format!("k{i}"), format!("v{i}"))).collect();
        let forward: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let backward: Vec<(&str, &str)> = forward.iter().rev().copied().collect();
        let tokens = [(0, 0)];
        assert_eq!(spec_hash(&pod(&forward, "t1"), &tokens), spec_hash(&pod(&backward, "t2"), &tokens));
    }

    #[test]
    fn a_real_change_changes_the_hash() {
        let tokens = [(0, 0)];
        assert_ne!(
            spec_hash(&pod(&[("a", "1")], "t"), &tokens),
            spec_hash(&pod(&[("a", "2")], "t"), &tokens)
        );
        assert_ne!(spec_hash(&pod(&[], "t1"), &[]), spec_hash(&pod(&[], "t2"), &[]));
    }
}
