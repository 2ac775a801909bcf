//! The result file (`latest.json`): the machine, and per case the machine it was measured on
//! and its figures. Running one case replaces only that case. Also renders the figures table
//! (`latest.md`) and the plots.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cases::burst::BurstResult;
use crate::cases::memory::MemoryResult;
use crate::cases::pacing::PacingResult;
use crate::cases::steady::SteadyResult;
use crate::cases::streams::StreamsResult;
use crate::error::BenchError;
use crate::machine::Machine;

/// One case's result and where it was measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Measured<T> {
    pub machine: Machine,
    pub quick: bool,
    /// Anything worth knowing about the conditions (for example other builds running).
    #[serde(default)]
    pub note: String,
    pub result: T,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Cases {
    pub burst: Option<Measured<Vec<BurstResult>>>,
    pub steady: Option<Measured<Vec<SteadyResult>>>,
    pub memory: Option<Measured<Vec<MemoryResult>>>,
    pub streams: Option<Measured<StreamsResult>>,
    pub pacing: Option<Measured<PacingResult>>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub machine: Machine,
    pub cases: Cases,
    /// Cases that failed in the latest invocation, with why.
    #[serde(default)]
    pub failures: Vec<String>,
}

impl Report {
    /// The report in `dir/latest.json`, or a new one.
    pub fn load_or_new(dir: &Path, machine: &Machine) -> Self {
        std::fs::read_to_string(dir.join("latest.json"))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .map(|mut report: Report| {
                report.machine = machine.clone();
                report
            })
            .unwrap_or_else(|| Self {
                machine: machine.clone(),
                cases: Cases::default(),
                failures: Vec::new(),
            })
    }

    /// Writes `latest.json`, `latest.md` and the SVG plots into `dir`.
    pub fn save(&self, dir: &Path) -> Result<Vec<PathBuf>, BenchError> {
        std::fs::create_dir_all(dir).map_err(|source| BenchError::File {
            what: "creating",
            path: dir.to_path_buf(),
            source,
        })?;
        let write = |name: &str, text: String| {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|source| BenchError::File {
                what: "writing",
                path: path.clone(),
                source,
            })?;
            Ok::<_, BenchError>(path)
        };
        let mut written = vec![write("latest.json", serde_json::to_string_pretty(self)?)?];
        written.extend(crate::figures::plots(&self.cases, dir)?);
        written.push(write("latest.md", crate::figures::markdown(self))?);
        Ok(written)
    }
}
