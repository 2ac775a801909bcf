//! Requests and limits in ACI's units and rules.
//!
//! ACI wants every container's request as CPU cores and memory in GB (10^9 bytes); the group
//! gets the sum of the requests, which must stay within the region's per-group maxima. A limit
//! may not be below its request nor above the group's total. So: missing requests take the
//! limit (as Kubernetes does) or the configured default; CPU rounds up to 0.01 core, memory up
//! to 0.1 GB; limits above the group total are lowered to it (a container can never use more
//! than its group has anyway). Init containers have no resources in ACI and run inside the
//! group's: when one needs more than the app containers' total, the first app container's
//! request grows to cover it, matching Kubernetes' effective pod request.

use vk_proto::v1;

use super::problems::Findings;
use crate::model::{ResourceLimits, ResourceRequests, ResourceRequirements};

/// Requests and limits of one container in hundredths of a core and tenths of a GB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Sized {
    pub cpu_centis: i64,
    pub memory_decis: i64,
    pub cpu_limit_centis: Option<i64>,
    pub memory_limit_decis: Option<i64>,
}

fn centis(millis: i64) -> i64 {
    ((millis.max(0) + 9) / 10).max(1)
}

fn decis(bytes: i64) -> i64 {
    ((bytes.max(0) + 99_999_999) / 100_000_000).max(1)
}

/// Converts one container's resources, recording problems for resources ACI does not have.
pub(crate) fn size(
    resources: Option<&v1::ResourceRequirements>,
    default_cpu_millis: i64,
    default_memory_bytes: i64,
    path: &str,
    findings: &mut Findings,
) -> Sized {
    let empty = v1::ResourceList::default();
    let requests = resources.and_then(|r| r.requests.as_ref()).unwrap_or(&empty);
    let limits = resources.and_then(|r| r.limits.as_ref()).unwrap_or(&empty);
    for (kind, list) in [("requests", requests), ("limits", limits)] {
        let mut names: Vec<_> = list.extended.keys().collect();
        names.sort();
        for name in names {
            let why = if name.contains("gpu") {
                "GPU container groups were retired from ACI; run GPU work elsewhere"
            } else {
                "ACI has no such resource"
            };
            findings.refuse(format!("{path}.resources.{kind}[{name}]"), why);
        }
        if list.ephemeral_storage_bytes.is_some() {
            findings.warn(
                format!("{path}.resources.{kind}.ephemeral-storage"),
                "not enforced: each ACI group has its own fixed local disk",
            );
        }
    }
    let cpu = requests.cpu_millis.or(limits.cpu_millis).unwrap_or(default_cpu_millis);
    let memory = requests.memory_bytes.or(limits.memory_bytes).unwrap_or(default_memory_bytes);
    Sized {
        cpu_centis: centis(cpu),
        memory_decis: decis(memory),
        cpu_limit_centis: limits.cpu_millis.map(centis),
        memory_limit_decis: limits.memory_bytes.map(decis),
    }
}

/// Applies group-wide rules to the app containers' sizes (in place) and checks the maxima.
pub(crate) fn fit_group(
    containers: &mut [Sized],
    init_containers: &[Sized],
    max_cpu_cores: f64,
    max_memory_gb: f64,
    findings: &mut Findings,
) {
    if containers.is_empty() {
        return;
    }
    let sum = |list: &[Sized], f: fn(&Sized) -> i64| list.iter().map(f).sum::<i64>();
    let init_cpu = init_containers.iter().map(|s| s.cpu_centis).max().unwrap_or(0);
    let init_memory = init_containers.iter().map(|s| s.memory_decis).max().unwrap_or(0);
    let cpu_total = sum(containers, |s| s.cpu_centis);
    let memory_total = sum(containers, |s| s.memory_decis);
    containers[0].cpu_centis += (init_cpu - cpu_total).max(0);
    containers[0].memory_decis += (init_memory - memory_total).max(0);
    let cpu_total = sum(containers, |s| s.cpu_centis);
    let memory_total = sum(containers, |s| s.memory_decis);
    for sized in containers.iter_mut() {
        sized.cpu_limit_centis = sized.cpu_limit_centis.map(|l| l.clamp(sized.cpu_centis, cpu_total));
        sized.memory_limit_decis =
            sized.memory_limit_decis.map(|l| l.clamp(sized.memory_decis, memory_total));
    }
    let cpu_cores = cpu_total as f64 / 100.0;
    let memory_gb = memory_total as f64 / 10.0;
    if cpu_cores > max_cpu_cores {
        findings.refuse(
            "spec.containers[*].resources.requests.cpu",
            format!("the pod needs {cpu_cores} cores in total; an ACI container group here has at most {max_cpu_cores}"),
        );
    }
    if memory_gb > max_memory_gb {
        findings.refuse(
            "spec.containers[*].resources.requests.memory",
            format!("the pod needs {memory_gb} GB in total; an ACI container group here has at most {max_memory_gb} GB"),
        );
    }
}

/// The ARM form of a container's size.
pub(crate) fn to_arm(sized: &Sized) -> ResourceRequirements {
    let limits =
        (sized.cpu_limit_centis.is_some() || sized.memory_limit_decis.is_some()).then(|| ResourceLimits {
            cpu: sized.cpu_limit_centis.map(|c| c as f64 / 100.0),
            memory_in_gb: sized.memory_limit_decis.map(|m| m as f64 / 10.0),
        });
    ResourceRequirements {
        requests: ResourceRequests {
            cpu: sized.cpu_centis as f64 / 100.0,
            memory_in_gb: sized.memory_decis as f64 / 10.0,
        },
        limits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(cpu: Option<i64>, memory: Option<i64>) -> Option<v1::ResourceList> {
        Some(v1::ResourceList { cpu_millis: cpu, memory_bytes: memory, ..Default::default() })
    }

    fn requirements(
        requests: Option<v1::ResourceList>,
        limits: Option<v1::ResourceList>,
    ) -> v1::ResourceRequirements {
        v1::ResourceRequirements { requests, limits }
    }

    #[test]
    fn requests_round_up_to_aci_steps() {
        let mut findings = Findings::default();
        let r = requirements(list(Some(250), Some(1 << 30)), None);
        let arm = to_arm(&size(Some(&r), 1000, 1, "c", &mut findings));
        assert_eq!(arm.requests.cpu, 0.25);
        assert_eq!(arm.requests.memory_in_gb, 1.1);
        assert_eq!(arm.limits, None);
    }

    #[test]
    fn a_missing_request_takes_the_limit_then_the_default() {
        let mut findings = Findings::default();
        let r = requirements(None, list(Some(2000), None));
        let sized = size(Some(&r), 1000, 1_500_000_000, "c", &mut findings);
        assert_eq!((sized.cpu_centis, sized.memory_decis), (200, 15));
    }

    #[test]
    fn a_limit_above_the_group_total_is_lowered_to_it() {
        let mut findings = Findings::default();
        let r = requirements(list(Some(100), Some(500_000_000)), list(Some(4000), Some(8_000_000_000)));
        let mut sizes = vec![size(Some(&r), 1000, 1, "c", &mut findings)];
        fit_group(&mut sizes, &[], 4.0, 16.0, &mut findings);
        let arm = to_arm(&sizes[0]);
        assert_eq!(arm.limits, Some(ResourceLimits { cpu: Some(0.1), memory_in_gb: Some(0.5) }));
        assert!(findings.finish().is_ok());
    }

    #[test]
    fn init_containers_needing_more_grow_the_first_container() {
        let mut findings = Findings::default();
        let small = requirements(list(Some(100), Some(100_000_000)), None);
        let big = requirements(list(Some(1000), Some(2_000_000_000)), None);
        let mut sizes = vec![size(Some(&small), 0, 0, "c", &mut findings)];
        let inits = vec![size(Some(&big), 0, 0, "i", &mut findings)];
        fit_group(&mut sizes, &inits, 4.0, 16.0, &mut findings);
        assert_eq!((sizes[0].cpu_centis, sizes[0].memory_decis), (100, 20));
    }

    #[test]
    fn too_much_cpu_and_memory_are_both_refused() {
        let mut findings = Findings::default();
        let r = requirements(list(Some(3000), Some(10_000_000_000)), None);
        let mut sizes =
            vec![size(Some(&r), 0, 0, "a", &mut findings), size(Some(&r), 0, 0, "b", &mut findings)];
        fit_group(&mut sizes, &[], 4.0, 16.0, &mut findings);
        assert_eq!(findings.finish().expect_err("over both maxima").problems.len(), 2);
    }

    #[test]
    fn a_gpu_request_is_refused() {
        let mut findings = Findings::default();
        let mut gpu = v1::ResourceList::default();
        gpu.extended.insert("nvidia.com/gpu".into(), 1);
        size(Some(&requirements(None, Some(gpu))), 1, 1, "spec.containers[0]", &mut findings);
        let refusal = findings.finish().expect_err("gpu");
        assert!(refusal.to_string().contains("retired"), "{refusal}");
    }
}
