pub mod agent;
pub mod alerts;
pub mod analyze;
pub mod doctor;
pub mod events;
pub mod map;
pub mod policies;
pub mod profile;
pub mod query;
pub mod requests;
pub mod schema;
pub mod status;
pub mod stream;

use std::process::ExitCode;

/// Default address of the agent's API: loopback only.
pub const DEFAULT_SERVER: &str = "127.0.0.1:7411";

/// `-o` for commands that print events or reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Table,
    Compact,
    Json,
}

/// An error and its causes on one line.
pub fn one_line(e: &anyhow::Error) -> String {
    e.chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

/// clap's own errors, cut to one line that says where help is.
pub fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind::{
        DisplayHelp, DisplayHelpOnMissingArgumentOrSubcommand, DisplayVersion,
    };
    if matches!(
        e.kind(),
        DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return if e.kind() == DisplayHelpOnMissingArgumentOrSubcommand {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let text = e.render().to_string();
    // The message, and the indented lines that complete it (the missing
    // arguments), on one line.
    let mut lines = text.lines();
    let mut first = lines.next().unwrap_or("invalid command line").to_string();
    for more in lines.take_while(|l| l.starts_with("  ")) {
        first.push(' ');
        first.push_str(more.trim());
    }
    let first = first.strip_prefix("error: ").unwrap_or(&first);
    eprintln!("sonde: error: {first} (see `sonde --help`)");
    ExitCode::from(2)
}
