//! Container group names: `<namespace>-<pod>` cut to fit, plus a short hash of cluster id and
//! pod UID, so names are unique per pod even when two clusters share a resource group.

use sha2::{Digest, Sha256};

/// Longest container group name ACI accepts.
pub const MAX_GROUP_NAME: usize = 63;
const HASH_CHARS: usize = 10;

/// The container group name of a pod.
pub fn group_name(cluster_id: &str, namespace: &str, pod_name: &str, uid: &str) -> String {
    let digest = Sha256::digest(format!("{cluster_id}/{uid}").as_bytes());
    let hash = &hex::encode(digest)[..HASH_CHARS];
    let readable = sanitize(&format!("{namespace}-{pod_name}"));
    let room = MAX_GROUP_NAME - HASH_CHARS - 1;
    let cut: String = readable.chars().take(room).collect();
    let cut = cut.trim_matches('-');
    if cut.is_empty() { format!("vk-{hash}") } else { format!("{cut}-{hash}") }
}

/// Lower-cases and replaces every character outside `[a-z0-9-]` by `-`, collapsing runs.
fn sanitize(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() { c } else { '-' };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(name: &str) -> bool {
        name.len() <= MAX_GROUP_NAME
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !name.starts_with('-')
            && !name.ends_with('-')
    }

    #[test]
    fn a_short_name_keeps_namespace_and_pod() {
        let name = group_name("cluster", "default", "web-0", "uid-1");
        assert!(name.starts_with("default-web-0-"), "{name}");
        assert!(valid(&name), "{name}");
    }

    #[test]
    fn a_long_name_is_cut_to_63_characters() {
        let name = group_name("c", &"n".repeat(63), &"p".repeat(253), "u");
        assert_eq!(name.len(), MAX_GROUP_NAME);
        assert!(valid(&name), "{name}");
    }

    #[test]
    fn dots_and_capitals_become_valid_characters() {
        let name = group_name("c", "Team.A", "My..Pod", "u");
        assert!(name.starts_with("team-a-my-pod-"), "{name}");
        assert!(valid(&name));
    }

    #[test]
    fn the_same_pod_in_two_clusters_gets_two_names() {
        assert_ne!(group_name("c1", "ns", "p", "u"), group_name("c2", "ns", "p", "u"));
        assert_eq!(group_name("c1", "ns", "p", "u"), group_name("c1", "ns", "p", "u"));
    }
}
