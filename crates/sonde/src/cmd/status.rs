use std::process::ExitCode;

use serde_json::Value;

use super::Output;
use crate::client::Client;

#[derive(clap::Args)]
pub struct Args {
    #[arg(short, long, value_enum, default_value = "table")]
    output: Output,
    /// Address of the agent's API.
    #[arg(long, env = "SONDE_SERVER", default_value = super::DEFAULT_SERVER)]
    server: String,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let status = Client::new(&args.server).json("/api/v1/status")?;
    if args.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(ExitCode::SUCCESS);
    }
    let get = |path: &str| status.pointer(path).cloned().unwrap_or(Value::Null);
    println!(
        "sonde {} (event schema v{}), up {}s",
        get("/version").as_str().unwrap_or("?"),
        get("/schema_version"),
        get("/uptime_seconds")
    );
    println!("\nCOLLECTORS");
    for collector in get("/collectors").as_array().into_iter().flatten() {
        let hooks: Vec<String> = collector["hooks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|h| {
                format!(
                    "{} {}",
                    h["kind"].as_str().unwrap_or("?"),
                    h["name"].as_str().unwrap_or("?")
                )
            })
            .collect();
        println!(
            "  {:10} {}",
            collector["name"].as_str().unwrap_or("?"),
            hooks.join(", ")
        );
    }
    println!("\nPIPELINE");
    let pipeline = get("/pipeline");
    let map = |key: &str| {
        pipeline[key]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    };
    println!("  ring buffer records   {}", map("records"));
    println!(
        "  events produced       exec={} exit={}",
        pipeline["exec_events"], pipeline["exit_events"]
    );
    println!(
        "  events stored         {} ({} bytes)",
        pipeline["stored_events"], pipeline["stored_bytes"]
    );
    println!(
        "  process table         {} processes",
        pipeline["process_table_size"]
    );
    let profiler = &pipeline["profiler"];
    println!("\nPROFILER");
    println!(
        "  samples               {} aggregated, kernel: {}",
        profiler["samples"],
        profiler["kernel"]
            .as_object()
            .map(|m| m
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" "))
            .unwrap_or_default()
    );
    println!(
        "  user stacks           {} truncated, {} unwound from .eh_frame; {} unknown frames",
        profiler["user_stacks_truncated"],
        profiler["user_stacks_unwound_dwarf"],
        profiler["unknown_frames"]
    );
    println!(
        "  profiles              {} stored, {} dropped; {} on-demand ({} failed)",
        profiler["profiles_written"],
        profiler["profiles_dropped"],
        profiler["sessions"],
        profiler["session_failures"]
    );
    println!("\nLOSSES (total {})", get("/lost_total"));
    println!("  kernel ring full      {}", map("kernel_lost"));
    println!("  decode errors         {}", map("decode_errors"));
    println!("  record queue full     {}", pipeline["queue_dropped"]);
    println!(
        "  store queue full      {}",
        pipeline["store_queue_dropped"]
    );
    println!(
        "  store write failed    {}",
        pipeline["store_failed_events"]
    );
    println!("  followers lagged      {}", pipeline["subscriber_lagged"]);
    println!(
        "  argv truncated        {} (kept, flagged)",
        pipeline["argv_truncated"]
    );
    println!("\nSTORE");
    match get("/store") {
        Value::Null => println!("  unavailable: {}", get("/store_error")),
        store => {
            println!(
                "  events {}  bytes {}  file {} bytes",
                store["events"], store["bytes"], store["file_bytes"]
            );
            println!("  oldest {}  newest {}", store["oldest"], store["newest"]);
            if let Some(b) = get("/exec_event_bytes").as_f64() {
                println!("  {b:.0} bytes per exec event");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
