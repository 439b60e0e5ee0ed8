use std::process::ExitCode;

use serde::Serialize;
use sonde_bpf::{
    plan_collectors, probe_kernel, Capability, CollectorPlan, KernelReport, MountState,
};

use super::Output;

#[derive(clap::Args)]
pub struct Args {
    #[arg(short, long, value_enum, default_value = "table")]
    output: Output,
}

#[derive(Serialize)]
struct Doctor {
    #[serde(flatten)]
    kernel: KernelReport,
    collectors: Vec<CollectorPlan>,
}

/// Exit status 0 when every collector can run, 1 otherwise.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let kernel = probe_kernel();
    let collectors = plan_collectors(&kernel);
    let ready = collectors.iter().all(|c| c.ready);
    let doctor = Doctor { kernel, collectors };
    if args.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&doctor)?);
    } else {
        print_table(&doctor);
    }
    Ok(if ready {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn yes(available: bool) -> &'static str {
    if available {
        "yes"
    } else {
        "NO"
    }
}

fn mount_line(name: &str, state: &MountState) {
    let detail = match state {
        MountState::Mounted(dir) => format!("mounted at {dir}"),
        MountState::MountedNow(dir) => format!("mounted at {dir} (by this run)"),
        MountState::Missing(why) => why.clone(),
    };
    println!("  {name:16} {:4} {detail}", yes(state.is_available()));
}

fn cap_line(c: &Capability) {
    println!("  {:16} {:4} {}", c.name, yes(c.available), c.detail);
}

fn print_table(d: &Doctor) {
    let k = &d.kernel;
    let who = if k.root {
        "as root"
    } else {
        "NOT as root: program types were not probed"
    };
    println!("sonde doctor: Linux {}, running {who}\n", k.kernel);
    println!("KERNEL");
    cap_line(&k.btf);
    mount_line("tracefs", &k.tracefs);
    mount_line("bpffs", &k.bpffs);
    cap_line(&k.ring_buffer);
    println!("\nPROGRAM TYPES");
    k.program_types.iter().for_each(cap_line);
    println!("\nCOLLECTORS");
    for c in &d.collectors {
        let state = if c.ready { "ready" } else { "CANNOT RUN" };
        println!("  {:16} {state}", c.name);
        for hook in &c.hooks {
            println!(
                "    {:15} {:28} {}",
                hook.kind.capability(),
                hook.name,
                hook.purpose
            );
        }
        for m in &c.missing {
            println!("    missing: {m}");
        }
        for n in &c.notes {
            println!("    note: {n}");
        }
    }
}
