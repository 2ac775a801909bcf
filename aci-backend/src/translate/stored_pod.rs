//! How GetPod returns the pod "exactly as last given" while all state lives in Azure.
//!
//! ARM never returns secret values and a group's spec is not a Kubernetes pod, so the backend
//! keeps a copy of the `Pod` message in the group's tags: secret values blanked (as the API
//! allows), protobuf-encoded, deflated, base64-encoded and cut into numbered tag values of at
//! most 256 characters (`vk-pod-data-00`, `-01`, ...). ARM allows 50 tags per resource, so the
//! copy gets at most [`MAX_CHUNKS`] (about 7.5 KiB compressed, typically pods of 30 KiB or more).
//! A pod too large for that is kept with less: first the contents of non-secret files volumes
//! are blanked, then annotations, then labels; the tag `vk-pod-trimmed` then names what was
//! left out. `spec_hash` always survives, so the agent still tells changes from resyncs.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};

use base64::Engine as _;
use prost::Message as _;
use vk_proto::v1;

/// Prefix of the tags holding the stored pod.
pub const DATA_TAG_PREFIX: &str = "vk-pod-data-";
/// Tag naming what the stored copy leaves out, when anything.
pub const TRIMMED_TAG: &str = "vk-pod-trimmed";
/// Most tags the stored pod may use.
pub const MAX_CHUNKS: usize = 40;
/// Longest ARM tag value.
pub const MAX_TAG_VALUE: usize = 256;
/// Largest decompressed copy accepted when reading tags back.
const MAX_DECODED: u64 = 16 * 1024 * 1024;

/// Why a stored pod could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum StoredPodError {
    /// Even the trimmed copy does not fit in the tags.
    #[error(
        "the pod is too large to keep in its container group's tags ({0} characters needed after \
         compression, {max} available, with file contents, annotations and labels already left out): \
         shorten env values, commands and arguments, or move large values into Secrets, whose values \
         are not kept",
        max = MAX_CHUNKS * MAX_TAG_VALUE
    )]
    TooLarge(usize),
    /// The group has no stored pod tags.
    #[error("reading the stored pod: the container group has no {DATA_TAG_PREFIX}* tags")]
    Missing,
    /// The tags do not decode.
    #[error("reading the stored pod: {0}")]
    Corrupt(String),
}

/// Removes one kind of data from the stored copy.
type Strip = fn(&mut v1::Pod);

/// Blanks every value the API lets a backend forget: secret env values, secret file contents,
/// registry passwords and storage account keys.
pub fn without_secrets(pod: &v1::Pod) -> v1::Pod {
    let mut pod = pod.clone();
    if let Some(spec) = pod.spec.as_mut() {
        for c in spec.containers.iter_mut().chain(spec.init_containers.iter_mut()) {
            for e in c.env.iter_mut().filter(|e| e.secret) {
                e.value.clear();
            }
        }
        for v in &mut spec.volumes {
            match v.source.as_mut() {
                Some(v1::volume::Source::Files(f)) if f.secret => {
                    f.files.iter_mut().for_each(|f| f.content.clear())
                }
                Some(v1::volume::Source::AzureFile(a)) => a.storage_account_key.clear(),
                _ => {}
            }
        }
        for r in &mut spec.image_registry_credentials {
            r.password.clear();
        }
    }
    pod
}

fn pack(pod: &v1::Pod) -> String {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(&pod.encode_to_vec());
    let compressed = encoder.finish().unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(compressed)
}

/// The tags that store the pod (data chunks plus, when trimmed, the trimmed marker).
pub fn encode(pod: &v1::Pod) -> Result<BTreeMap<String, String>, StoredPodError> {
    let mut copy = without_secrets(pod);
    let mut trimmed: Vec<&str> = Vec::new();
    let mut packed = pack(&copy);
    let steps: [(&str, Strip); 3] = [
        ("file-contents", |p| {
            for v in p.spec.iter_mut().flat_map(|s| s.volumes.iter_mut()) {
                if let Some(v1::volume::Source::Files(f)) = v.source.as_mut() {
                    f.files.iter_mut().for_each(|f| f.content.clear());
                }
            }
        }),
        ("annotations", |p| p.meta.iter_mut().for_each(|m| m.annotations.clear())),
        ("labels", |p| p.meta.iter_mut().for_each(|m| m.labels.clear())),
    ];
    for (what, strip) in steps {
        if packed.len() <= MAX_CHUNKS * MAX_TAG_VALUE {
            break;
        }
        strip(&mut copy);
        trimmed.push(what);
        packed = pack(&copy);
    }
    if packed.len() > MAX_CHUNKS * MAX_TAG_VALUE {
        return Err(StoredPodError::TooLarge(packed.len()));
    }
    let mut tags: BTreeMap<String, String> = packed
        .as_bytes()
        .chunks(MAX_TAG_VALUE)
        .enumerate()
        .map(|(i, chunk)| (format!("{DATA_TAG_PREFIX}{i:02}"), String::from_utf8_lossy(chunk).into_owned()))
        .collect();
    if !trimmed.is_empty() {
        tags.insert(TRIMMED_TAG.to_string(), trimmed.join(","));
    }
    Ok(tags)
}

/// Reads the stored pod back from a group's tags.
pub fn decode(tags: &BTreeMap<String, String>) -> Result<v1::Pod, StoredPodError> {
    let mut chunks: Vec<(usize, &String)> = tags
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(DATA_TAG_PREFIX).and_then(|n| n.parse().ok()).map(|n| (n, v)))
        .collect();
    if chunks.is_empty() {
        return Err(StoredPodError::Missing);
    }
    chunks.sort_by_key(|(n, _)| *n);
    if chunks.iter().enumerate().any(|(i, (n, _))| i != *n) {
        return Err(StoredPodError::Corrupt("a data tag is missing".into()));
    }
    let packed: String = chunks.iter().map(|(_, v)| v.as_str()).collect();
    let compressed = base64::engine::general_purpose::STANDARD
        .decode(packed)
        .map_err(|e| StoredPodError::Corrupt(format!("base64: {e}")))?;
    let mut bytes = Vec::new();
    flate2::read::DeflateDecoder::new(compressed.as_slice())
        .take(MAX_DECODED)
        .read_to_end(&mut bytes)
        .map_err(|e| StoredPodError::Corrupt(format!("deflate: {e}")))?;
    v1::Pod::decode(bytes.as_slice()).map_err(|e| StoredPodError::Corrupt(format!("protobuf: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod_with(env_secret: &str, file: Vec<u8>) -> v1::Pod {
        v1::Pod {
            meta: Some(v1::PodMeta {
                uid: "u".into(),
                namespace: "n".into(),
                name: "p".into(),
                ..Default::default()
            }),
            spec: Some(v1::PodSpec {
                containers: vec![v1::Container {
                    name: "c".into(),
                    image: "i".into(),
                    env: vec![
                        v1::EnvVar { name: "A".into(), value: "plain".into(), secret: false },
                        v1::EnvVar { name: "B".into(), value: env_secret.into(), secret: true },
                    ],
                    ..Default::default()
                }],
                volumes: vec![v1::Volume {
                    name: "cfg".into(),
                    source: Some(v1::volume::Source::Files(v1::FilesVolume {
                        kind: "configMap".into(),
                        files: vec![v1::File { path: "f".into(), content: file, mode: Some(420) }],
                        secret: false,
                    })),
                }],
                ..Default::default()
            }),
            spec_hash: "h1".into(),
        }
    }

    #[test]
    fn a_pod_comes_back_exactly_except_secret_values() {
        let pod = pod_with("hunter2", b"config".to_vec());
        let tags = encode(&pod).expect("small pods fit");
        assert!(tags.values().all(|v| v.len() <= MAX_TAG_VALUE));
        assert!(!tags.contains_key(TRIMMED_TAG));
        let back = decode(&tags).expect("decodes");
        assert_eq!(back, without_secrets(&pod));
        assert_eq!(back.spec.expect("spec").containers[0].env[1].value, "");
    }

    #[test]
    fn a_pod_too_large_for_the_tags_loses_file_contents_first() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let noise: Vec<u8> = (0..40_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        let pod = pod_with("s", noise);
        let tags = encode(&pod).expect("trimmed copy fits");
        assert_eq!(tags.get(TRIMMED_TAG).map(String::as_str), Some("file-contents"));
        let back = decode(&tags).expect("decodes");
        assert_eq!(back.spec_hash, "h1");
    }

    #[test]
    fn a_pod_too_large_even_trimmed_is_refused_with_what_to_shorten() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let noise: String = (0..40_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(b'a' + (state % 26) as u8)
            })
            .collect();
        let mut pod = pod_with("s", Vec::new());
        let spec = pod.spec.as_mut().expect("spec");
        spec.containers[0].env[0].value = noise;
        let error = encode(&pod).expect_err("40 000 random letters do not fit");
        let message = error.to_string();
        assert!(matches!(error, StoredPodError::TooLarge(_)), "{message}");
        assert!(message.contains("shorten env values") && message.contains("Secrets"), "{message}");
    }

    #[test]
    fn a_missing_chunk_is_reported_as_corrupt() {
        let mut tags = encode(&pod_with("s", vec![7; 10])).expect("fits");
        tags.insert(format!("{DATA_TAG_PREFIX}05"), "AAAA".into());
        assert!(matches!(decode(&tags), Err(StoredPodError::Corrupt(_))));
    }
}
