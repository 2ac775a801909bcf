//! The figures table (Markdown, with the targets of issue 10) and the plots of a report.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::BenchError;
use crate::plot::{Chart, Series, draw};
use crate::report::{Cases, Measured, Report};

fn measured_on<T>(m: &Measured<T>) -> String {
    let quick = if m.quick { ", --quick" } else { "" };
    let note = if m.note.is_empty() { String::new() } else { format!("; {}", m.note) };
    format!(
        "_Measured {} on {} cores / {:.1} GiB ({}), commit `{}`, load at start {}{quick}{note}._\n\n",
        m.machine.date,
        m.machine.cores,
        m.machine.ram_gib,
        m.machine.cpu_model,
        m.machine.commit,
        m.machine.load_at_start
    )
}

/// One row of the targets table: what, the goal, the measured value, met.
fn target(out: &mut String, what: &str, goal: &str, measured: String, met: bool) {
    let verdict = if met { "met" } else { "**missed**" };
    let _ = writeln!(out, "| {what} | {goal} | {measured} | {verdict} |");
}

/// The targets of issue 10 against the medians of the cases present.
fn targets(cases: &Cases) -> String {
    let mut out = String::from("| target | goal | measured (median) | |\n|---|---|---|---|\n");
    if let Some(largest) = cases.burst.as_ref().and_then(|b| b.result.iter().max_by_key(|r| r.pods)) {
        let what = format!("burst at N = {}: ours / floor", largest.pods);
        target(&mut out, &what, "≤ 1.5", format!("{:.2}", largest.ratio.median), largest.ratio.median <= 1.5);
    }
    if let Some(smallest) = cases.burst.as_ref().and_then(|b| b.result.iter().min_by_key(|r| r.pods)) {
        let p99 = smallest.create_to_put_p99_ms.median;
        let what = format!("p99 API creation → ARM PUT at N = {}", smallest.pods);
        target(&mut out, &what, "≤ 50 ms", format!("{p99:.0} ms"), p99 <= 50.0);
    }
    for r in cases.steady.iter().flat_map(|s| s.result.iter()) {
        let reads = r.arm_reads_per_pod_minute.median;
        let what = format!("steady state at {} pods: ARM reads / pod-minute", r.pods);
        target(&mut out, &what, "≤ 2", format!("{reads:.2}"), reads <= 2.0);
    }
    if let Some(largest) = cases.memory.as_ref().and_then(|m| m.result.iter().max_by_key(|r| r.pods)) {
        for (who, mib) in [("node-agent", largest.agent_peak_mib), ("aci-backend", largest.backend_peak_mib)]
        {
            let what = format!("{who} peak RSS at {} pods", largest.pods);
            target(&mut out, &what, "≤ 64 MiB", format!("{mib:.1} MiB"), mib <= 64.0);
        }
    }
    if let Some(streams) = &cases.streams {
        let r = &streams.result;
        let logs = r.logs_kubelet_mb_s.median;
        target(
            &mut out,
            "logs -f through the kubelet API",
            "≥ 100 MB/s",
            format!("{logs:.1} MB/s"),
            logs >= 100.0,
        );
        for (how, s) in [("SPDY", &r.exec_spdy_ms), ("WebSocket", &r.exec_websocket_ms)] {
            let above = s.median - r.exec_direct_ms.median;
            let what = format!("exec round trip over {how}, above the direct stream");
            target(&mut out, &what, "≤ 1 ms", format!("{above:+.2} ms"), above <= 1.0);
        }
    }
    if let Some(pacing) = &cases.pacing {
        let worst = pacing.result.all_429s.max;
        let what = format!("429s caused by our own pace ({} pods, every run)", pacing.result.pods);
        target(&mut out, &what, "0", format!("{worst:.0} at most"), worst == 0.0);
    }
    out.push('\n');
    out
}

/// The Markdown figures: the targets, then one table per case, medians with (min–max) of the runs.
pub fn markdown(report: &Report) -> String {
    let mut out = String::from("### Targets\n\n");
    let cases = &report.cases;
    out.push_str(&targets(cases));
    if let Some(burst) = &cases.burst {
        out.push_str("### Pod burst (emulator limits off)\n\n");
        out.push_str(&measured_on(burst));
        out.push_str("| pods | ours: all Running (s) | floor (s) | ours / floor | creation → PUT p50 / p99 (ms) | emulator Running → API p50 / p99 (ms) |\n|---|---|---|---|---|---|\n");
        for r in &burst.result {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} / {} | {} / {} |",
                r.pods,
                r.ours_s.show(2),
                r.floor_s.show(2),
                r.ratio.show(2),
                r.create_to_put_p50_ms.show(0),
                r.create_to_put_p99_ms.show(0),
                r.running_to_api_p50_ms.show(0),
                r.running_to_api_p99_ms.show(0)
            );
        }
        out.push_str("\n![burst](results/burst.svg) ![burst latency](results/burst-latency.svg)\n\n");
    }
    if let Some(steady) = &cases.steady {
        out.push_str("### Steady state (ARM throttling on)\n\n");
        out.push_str(&measured_on(steady));
        out.push_str("| pods | window (s) | ARM requests / pod-minute | of which reads | container exit → API (s) |\n|---|---|---|---|---|\n");
        for r in &steady.result {
            let _ = writeln!(
                out,
                "| {} | {:.0} | {} | {} | {} |",
                r.pods,
                r.window_s,
                r.arm_requests_per_pod_minute.show(2),
                r.arm_reads_per_pod_minute.show(2),
                r.change_to_api_s.show(1)
            );
        }
        out.push_str("\n![steady](results/steady.svg)\n\n");
    }
    if let Some(memory) = &cases.memory {
        out.push_str("### Memory\n\n");
        out.push_str(&measured_on(memory));
        out.push_str("| pods | node-agent peak (MiB) | aci-backend peak (MiB) | node-agent RSS (MiB) | aci-backend RSS (MiB) |\n|---|---|---|---|---|\n");
        for r in &memory.result {
            let _ = writeln!(
                out,
                "| {} | {:.1} | {:.1} | {} | {} |",
                r.pods,
                r.agent_peak_mib,
                r.backend_peak_mib,
                r.agent_rss_mib.show(1),
                r.backend_rss_mib.show(1)
            );
        }
        out.push_str("\n![memory](results/memory.svg)\n\n");
    }
    if let Some(streams) = &cases.streams {
        out.push_str("### Streams\n\n");
        out.push_str(&measured_on(streams));
        out.push_str(&crate::cases::streams::markdown(&streams.result));
    }
    if let Some(pacing) = &cases.pacing {
        out.push_str("### Create pacing (ACI create quota on, emulator time scaled)\n\n");
        out.push_str(&measured_on(pacing));
        out.push_str(&crate::cases::pacing::markdown(&pacing.result));
    }
    for failure in &report.failures {
        let _ = writeln!(out, "- **failed**: {failure}");
    }
    out
}

/// Draws the plots of the cases present; returns the files written.
pub fn plots(cases: &Cases, dir: &Path) -> Result<Vec<PathBuf>, BenchError> {
    let mut written = Vec::new();
    let mut chart = |name: &str, chart: Chart<'_>| {
        let path = dir.join(name);
        draw(&path, &chart)?;
        written.push(path);
        Ok::<_, BenchError>(())
    };
    if let Some(burst) = &cases.burst {
        let points = |f: fn(&crate::cases::burst::BurstResult) -> &crate::stats::Summary| {
            burst.result.iter().map(|r| (r.pods as f64, f(r).clone())).collect::<Vec<_>>()
        };
        chart(
            "burst.svg",
            Chart {
                title: "Pod burst: time until all Running",
                x_label: "pods",
                y_label: "seconds",
                series: vec![
                    Series { name: "ours", points: points(|r| &r.ours_s) },
                    Series { name: "floor (apiserver only)", points: points(|r| &r.floor_s) },
                ],
                target: None,
            },
        )?;
        chart(
            "burst-latency.svg",
            Chart {
                title: "Pod burst: per-pod latency",
                x_label: "pods",
                y_label: "milliseconds",
                series: vec![
                    Series { name: "creation -> PUT p50", points: points(|r| &r.create_to_put_p50_ms) },
                    Series { name: "creation -> PUT p99", points: points(|r| &r.create_to_put_p99_ms) },
                    Series { name: "Running -> API p50", points: points(|r| &r.running_to_api_p50_ms) },
                    Series { name: "Running -> API p99", points: points(|r| &r.running_to_api_p99_ms) },
                ],
                target: Some((50.0, "target: creation -> PUT p99 <= 50 ms at 100 pods")),
            },
        )?;
    }
    if let Some(steady) = &cases.steady {
        let points = |f: fn(&crate::cases::steady::SteadyResult) -> &crate::stats::Summary| {
            steady.result.iter().map(|r| (r.pods as f64, f(r).clone())).collect::<Vec<_>>()
        };
        chart(
            "steady.svg",
            Chart {
                title: "Steady state: ARM requests per pod-minute",
                x_label: "running pods",
                y_label: "requests / pod-minute",
                series: vec![
                    Series { name: "all ARM requests", points: points(|r| &r.arm_requests_per_pod_minute) },
                    Series { name: "reads", points: points(|r| &r.arm_reads_per_pod_minute) },
                ],
                target: Some((2.0, "target: 2 reads / pod-minute")),
            },
        )?;
    }
    if let Some(memory) = &cases.memory {
        let peak = |f: fn(&crate::cases::memory::MemoryResult) -> f64| {
            memory
                .result
                .iter()
                .map(|r| (r.pods as f64, crate::stats::Summary::of(&[f(r)])))
                .collect::<Vec<_>>()
        };
        chart(
            "memory.svg",
            Chart {
                title: "Peak RSS (VmHWM)",
                x_label: "pods",
                y_label: "MiB",
                series: vec![
                    Series { name: "node-agent", points: peak(|r| r.agent_peak_mib) },
                    Series { name: "aci-backend", points: peak(|r| r.backend_peak_mib) },
                ],
                target: Some((64.0, "target: 64 MiB at 5000 pods")),
            },
        )?;
    }
    if let Some(streams) = &cases.streams {
        written.extend(crate::cases::streams::plots(&streams.result, dir)?);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::streams::StreamsResult;
    use crate::machine::Machine;
    use crate::stats::Summary;

    #[test]
    fn targets_say_met_or_missed_against_the_medians() {
        let machine = Machine {
            date: "d".into(),
            cores: 2,
            ram_gib: 1.0,
            cpu_model: "c".into(),
            commit: "abc".into(),
            load_at_start: "0".into(),
        };
        let result = StreamsResult {
            log_bytes: 1,
            logs_kubelet_mb_s: Summary::of(&[80.0, 90.0, 120.0]),
            logs_direct_mb_s: Summary::of(&[130.0]),
            exec_round_trips: 5,
            exec_spdy_ms: Summary::of(&[2.0]),
            exec_websocket_ms: Summary::of(&[1.5]),
            exec_direct_ms: Summary::of(&[0.8]),
        };
        let cases = Cases {
            streams: Some(Measured { machine, quick: false, note: String::new(), result }),
            ..Cases::default()
        };
        let table = targets(&cases);
        assert!(
            table.contains("| logs -f through the kubelet API | ≥ 100 MB/s | 90.0 MB/s | **missed** |"),
            "{table}"
        );
        assert!(
            table.contains("over SPDY, above the direct stream | ≤ 1 ms | +1.20 ms | **missed** |"),
            "{table}"
        );
        assert!(
            table.contains("over WebSocket, above the direct stream | ≤ 1 ms | +0.70 ms | met |"),
            "{table}"
        );
    }
}
