//! The values the emulator reports: a fixed share of each container's resource requests, the same for the
//! simulated and the process runtime, so that tests can assert them.

use super::metric::Metric;

/// Bytes in one GB as ACI counts `memoryInGB` (GiB).
const BYTES_PER_GB: f64 = 1024.0 * 1024.0 * 1024.0;

/// One-minute average of `metric` for a running container that requests `cpu_cores` and `memory_gb`:
/// `CpuUsage` is 10% of the CPU request in millicores (1.0 core → 100.0), `MemoryUsage` 25% of the
/// memory request in bytes (1.5 GB → 402653184.0).
pub fn simulated_usage(metric: Metric, cpu_cores: f64, memory_gb: f64) -> f64 {
    match metric {
        // Divisions rather than `* 0.1` keep round requests exact (0.3 cores → 30.0, not 30.000000000000004).
        Metric::CpuUsage => cpu_cores * 1000.0 / 10.0,
        Metric::MemoryUsage => memory_gb * BYTES_PER_GB / 4.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_a_tenth_of_the_request_in_millicores() {
        let cpu = |cores| simulated_usage(Metric::CpuUsage, cores, 1.0);
        assert_eq!([cpu(1.0), cpu(0.5), cpu(0.3), cpu(0.25), cpu(4.0)], [100.0, 50.0, 30.0, 25.0, 400.0]);
    }

    #[test]
    fn memory_is_a_quarter_of_the_request_in_bytes() {
        let memory = |gb| simulated_usage(Metric::MemoryUsage, 1.0, gb);
        assert_eq!(memory(1.5), 402_653_184.0);
        assert_eq!(memory(1.0), 268_435_456.0);
        assert_eq!(memory(0.5), 134_217_728.0);
        assert_eq!(memory(16.0), 4_294_967_296.0);
    }
}
