//! `vk-bench`: what the product costs in time, memory and Azure calls (issue 10), measured on
//! the local control plane with aci-backend, node-agent and the ACI emulator as processes.
//!
//! ```text
//! cargo build --release --bins -p aci-backend -p node-agent -p aci-emulator
//! cargo run --release -p vk-bench -- all            # or: burst steady memory streams pacing
//! cargo run --release -p vk-bench -- --quick burst  # small N while developing
//! ```

mod cases;
mod emulator_admin;
mod error;
mod figures;
mod machine;
mod plot;
mod pods;
mod report;
mod rss;
mod stats;
mod world;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};

use crate::cases::steady::SteadyPlan;
use crate::machine::Machine;
use crate::report::{Measured, Report};
use crate::world::World;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Case {
    All,
    Burst,
    Steady,
    Memory,
    Streams,
    Pacing,
}

/// Benchmarks of the virtual kubelet on the local control plane and the ACI emulator.
#[derive(Debug, Parser)]
#[command(name = "vk-bench")]
struct Args {
    /// Cases to run, in this order.
    #[arg(value_enum, required_unless_present = "render_only")]
    cases: Vec<Case>,
    /// Small N and short windows, for development (results go to `<out>/quick/`).
    #[arg(long)]
    quick: bool,
    /// Runs of each case.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Directory of latest.json, latest.md and the plots.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/results"))]
    out: PathBuf,
    /// A note stored with each case's result (for example: other builds were running).
    #[arg(long, default_value = "")]
    note: String,
    /// Keep the state directory (process logs) after the run.
    #[arg(long)]
    keep: bool,
    /// Measure nothing: redraw latest.md and the plots from latest.json.
    #[arg(long)]
    render_only: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,kube_client=off".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    anyhow::ensure!(args.runs >= 1, "--runs must be at least 1");
    let cases: Vec<Case> = if args.cases.contains(&Case::All) {
        vec![Case::Burst, Case::Steady, Case::Memory, Case::Streams, Case::Pacing]
    } else {
        args.cases.clone()
    };
    let out = if args.quick { args.out.join("quick") } else { args.out.clone() };
    let machine = Machine::probe();
    let mut report = Report::load_or_new(&out, &machine);
    if args.render_only {
        for path in report.save(&out).context("writing the results")? {
            println!("{}", path.display());
        }
        return Ok(());
    }
    report.failures.clear();
    let world = World::start(args.keep).await.context("starting the control plane and the emulator")?;
    for case in cases {
        eprintln!("== {case:?}");
        if let Err(error) = run_case(&world, &args, &machine, case, &mut report).await {
            eprintln!("{case:?} failed: {error}");
            report.failures.push(format!("{case:?}: {error}"));
        }
        report.save(&out).context("writing the results")?;
    }
    world.stop().await;
    for path in report.save(&out).context("writing the results")? {
        println!("{}", path.display());
    }
    Ok(())
}

async fn run_case(
    world: &World,
    args: &Args,
    machine: &Machine,
    case: Case,
    report: &mut Report,
) -> Result<(), error::BenchError> {
    let quick = args.quick;
    // The commit of the run's start (the binaries were built before it), this case's date.
    let at_start = machine.now();
    match case {
        Case::All => {}
        Case::Burst => {
            let sizes: &[usize] = if quick { &[20, 50] } else { &[100, 500, 1000] };
            report.cases.burst =
                Some(measured(&at_start, args, cases::burst::run(world, sizes, args.runs).await?));
        }
        Case::Steady => {
            let plan = if quick {
                SteadyPlan { levels: vec![20, 50], runs: args.runs, settle: secs(10), window: secs(20) }
            } else {
                SteadyPlan { levels: vec![100, 1000], runs: args.runs, settle: secs(60), window: secs(60) }
            };
            report.cases.steady = Some(measured(&at_start, args, cases::steady::run(world, &plan).await?));
        }
        Case::Memory => {
            let levels: &[usize] = if quick { &[0, 50, 200] } else { &[0, 1000, 5000] };
            let settle = if quick { secs(3) } else { secs(15) };
            report.cases.memory =
                Some(measured(&at_start, args, cases::memory::run(world, levels, settle).await?));
        }
        Case::Streams => {
            report.cases.streams =
                Some(measured(&at_start, args, cases::streams::run(world, quick, args.runs).await?));
        }
        Case::Pacing => {
            report.cases.pacing =
                Some(measured(&at_start, args, cases::pacing::run(world, quick, args.runs).await?));
        }
    }
    Ok(())
}

fn measured<T>(machine: &Machine, args: &Args, result: T) -> Measured<T> {
    Measured { machine: machine.clone(), quick: args.quick, note: args.note.clone(), result }
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
