//! The two container group metrics the emulator serves, with the names, descriptions and units Azure
//! Monitor gives them for `Microsoft.ContainerInstance/containerGroups`.

/// A metric with a `containerName` dimension on real ACI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// CPU usage on all cores, in millicores.
    CpuUsage,
    /// Memory usage, in bytes.
    MemoryUsage,
}

impl Metric {
    /// Every metric the emulator serves, in the order the README lists them.
    pub const ALL: [Self; 2] = [Self::CpuUsage, Self::MemoryUsage];

    /// The metric a `metricnames` entry names (case-insensitive), if the emulator serves it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The REST API name (`name.value`).
    pub fn name(self) -> &'static str {
        match self {
            Self::CpuUsage => "CpuUsage",
            Self::MemoryUsage => "MemoryUsage",
        }
    }

    /// The display name (`name.localizedValue`).
    pub fn localized_name(self) -> &'static str {
        match self {
            Self::CpuUsage => "CPU Usage",
            Self::MemoryUsage => "Memory Usage",
        }
    }

    /// `displayDescription`.
    pub fn description(self) -> &'static str {
        match self {
            Self::CpuUsage => "CPU usage on all cores in millicores.",
            Self::MemoryUsage => "Total memory usage in byte.",
        }
    }

    /// `unit` (millicores are a `Count` in Azure Monitor).
    pub fn unit(self) -> &'static str {
        match self {
            Self::CpuUsage => "Count",
            Self::MemoryUsage => "Bytes",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_without_case_and_unknown_names_do_not() {
        assert_eq!(Metric::from_name("cpuusage"), Some(Metric::CpuUsage));
        assert_eq!(Metric::from_name(" MEMORYUSAGE "), Some(Metric::MemoryUsage));
        assert_eq!(Metric::from_name("NetworkBytesReceivedPerSecond"), None);
        assert_eq!(Metric::from_name(""), None);
    }
}
