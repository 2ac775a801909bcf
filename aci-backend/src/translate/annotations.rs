//! Pod annotations that choose ACI options. Where the reference ACI provider or Microsoft's
//! virtual nodes already defined a name, that name is reused so existing manifests keep working;
//! the rest live under `aci.vk.io/`.

use std::collections::HashMap;

use super::problems::Findings;

/// DNS name label of the group's public IP (reference provider's name).
pub const DNS_NAME_LABEL: &str = "virtualkubelet.io/dnsnamelabel";
/// Base64 confidential computing enforcement policy; implies the Confidential SKU (Microsoft
/// virtual nodes' name).
pub const CCE_POLICY: &str = "microsoft.containerinstance.virtualnode.ccepolicy";
/// Comma-separated user-assigned managed identity resource ids (Microsoft virtual nodes' name).
pub const IDENTITY: &str = "microsoft.containerinstance.virtualnode.identity";
/// `true`: give the group a system-assigned managed identity.
pub const SYSTEM_ASSIGNED_IDENTITY: &str = "aci.vk.io/system-assigned-identity";
/// `Standard` or `Confidential` (default `Standard`, or `Confidential` with a CCE policy).
pub const SKU: &str = "aci.vk.io/sku";
/// `Regular` or `Spot` (default `Regular`).
pub const PRIORITY: &str = "aci.vk.io/priority";
/// Comma-separated subnet resource ids; overrides the backend's default subnets.
pub const SUBNET_IDS: &str = "aci.vk.io/subnet-ids";

/// The ACI options a pod asks for through its annotations.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct AciOptions {
    pub dns_name_label: Option<String>,
    pub confidential: bool,
    pub cce_policy: Option<String>,
    pub user_identities: Vec<String>,
    pub system_identity: bool,
    pub spot: bool,
    pub subnet_ids: Option<Vec<String>>,
}

fn path(name: &str) -> String {
    format!("metadata.annotations[{name}]")
}

fn list(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// Reads the options, recording a problem for every value that makes no sense.
pub(crate) fn read(annotations: &HashMap<String, String>, findings: &mut Findings) -> AciOptions {
    let mut options = AciOptions::default();
    let get = |name: &str| annotations.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());

    if let Some(label) = get(DNS_NAME_LABEL) {
        if valid_dns_label(label) {
            options.dns_name_label = Some(label.to_string());
        } else {
            findings.refuse(
                path(DNS_NAME_LABEL),
                "a DNS name label is 3 to 63 lower-case letters, digits and '-', starting with a letter",
            );
        }
    }
    match get(SKU) {
        None | Some("Standard") => {}
        Some("Confidential") => options.confidential = true,
        Some(other) => {
            findings.refuse(path(SKU), format!("unknown SKU {other:?}; use Standard or Confidential"))
        }
    }
    if let Some(policy) = get(CCE_POLICY) {
        if get(SKU) == Some("Standard") {
            findings.refuse(
                path(CCE_POLICY),
                "a CCE policy needs the Confidential SKU, but the pod asks for Standard",
            );
        }
        options.confidential = true;
        options.cce_policy = Some(policy.to_string());
    }
    match get(PRIORITY) {
        None | Some("Regular") => {}
        Some("Spot") => options.spot = true,
        Some(other) => {
            findings.refuse(path(PRIORITY), format!("unknown priority {other:?}; use Regular or Spot"))
        }
    }
    if let Some(ids) = get(IDENTITY) {
        for id in list(ids) {
            if id
                .to_ascii_lowercase()
                .contains("/providers/microsoft.managedidentity/userassignedidentities/")
            {
                options.user_identities.push(id);
            } else {
                findings
                    .refuse(path(IDENTITY), format!("{id:?} is not a user-assigned identity resource id"));
            }
        }
    }
    match get(SYSTEM_ASSIGNED_IDENTITY) {
        None | Some("false") => {}
        Some("true") => options.system_identity = true,
        Some(other) => {
            findings.refuse(path(SYSTEM_ASSIGNED_IDENTITY), format!("{other:?} is not true or false"))
        }
    }
    if let Some(ids) = get(SUBNET_IDS) {
        let ids = list(ids);
        for id in &ids {
            if !id.to_ascii_lowercase().contains("/providers/microsoft.network/virtualnetworks/") {
                findings.refuse(path(SUBNET_IDS), format!("{id:?} is not a subnet resource id"));
            }
        }
        options.subnet_ids = Some(ids);
    }
    options
}

fn valid_dns_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    (3..=63).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && !label.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(pairs: &[(&str, &str)]) -> (AciOptions, Result<Vec<String>, super::super::Refusal>) {
        let map = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut findings = Findings::default();
        let options = read(&map, &mut findings);
        (options, findings.finish())
    }

    #[test]
    fn a_cce_policy_selects_the_confidential_sku() {
        let (options, result) = read_all(&[(CCE_POLICY, "cG9saWN5")]);
        assert!(result.is_ok());
        assert!(options.confidential);
        assert_eq!(options.cce_policy.as_deref(), Some("cG9saWN5"));
    }

    #[test]
    fn every_bad_annotation_is_reported() {
        let (_, result) = read_all(&[(DNS_NAME_LABEL, "Bad_Label"), (PRIORITY, "Cheap"), (IDENTITY, "nope")]);
        let refusal = result.expect_err("three bad values");
        assert_eq!(refusal.problems.len(), 3, "{refusal}");
    }

    #[test]
    fn identities_and_spot_are_read() {
        let id =
            "/subscriptions/s/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/i";
        let (options, result) =
            read_all(&[(IDENTITY, id), (PRIORITY, "Spot"), (SYSTEM_ASSIGNED_IDENTITY, "true")]);
        assert!(result.is_ok());
        assert_eq!(options.user_identities, vec![id.to_string()]);
        assert!(options.spot && options.system_identity);
    }
}
