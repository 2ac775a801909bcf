//! The operating system of a virtual node and its container groups.

/// Linux or Windows, as node-agent's `--os` and aci-backend's `--node-os` spell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Os {
    Linux,
    Windows,
}

impl Os {
    /// Both, in the order the quick start starts them.
    pub const BOTH: [Os; 2] = [Os::Linux, Os::Windows];

    /// `linux` or `windows` (also the `kubernetes.io/os` label value).
    pub fn as_str(self) -> &'static str {
        match self {
            Os::Linux => "linux",
            Os::Windows => "windows",
        }
    }
}

impl std::fmt::Display for Os {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
