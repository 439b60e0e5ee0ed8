use std::process::ExitCode;

pub fn run() -> anyhow::Result<ExitCode> {
    println!(
        "{}",
        serde_json::to_string_pretty(&sonde_event::json_schema())?
    );
    Ok(ExitCode::SUCCESS)
}
