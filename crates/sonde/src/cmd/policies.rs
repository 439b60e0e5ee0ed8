//! `sonde policies`: the enforcement policies the agent's kernel programs
//! run now, from `/api/v1/enforce/policies`.

use std::process::ExitCode;

use serde::Deserialize;
use sonde_agent::enforce::Policy;

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

#[derive(Deserialize)]
struct Answer {
    available: bool,
    policies: Vec<Policy>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let value = Client::new(&args.server).json("/api/v1/enforce/policies")?;
    if args.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    let answer: Answer = serde_json::from_value(value)?;
    if !answer.available {
        println!("enforcement is unavailable in this agent (its programs did not load; see `sonde status`)");
        return Ok(ExitCode::SUCCESS);
    }
    if answer.policies.is_empty() {
        println!("no enforcement policies");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:32} {:13} {:40} {:24} MODE",
        "RULE", "ACTION", "MATCH", "CGROUP"
    );
    for p in &answer.policies {
        println!("{}", row(p));
    }
    Ok(ExitCode::SUCCESS)
}

fn row(p: &Policy) -> String {
    let (action, matches, cgroup, dry_run) = match p {
        Policy::Kill {
            binary_path,
            binary_name,
            ancestor,
            cgroup,
            dry_run,
            ..
        } => {
            let mut m = binary_path
                .clone()
                .or_else(|| binary_name.as_ref().map(|n| format!("name {n}")))
                .unwrap_or_default();
            if let Some(a) = ancestor {
                m.push_str(&format!(" under {a}"));
            }
            ("kill", m, cgroup, *dry_run)
        }
        Policy::DenyConnect {
            cidr,
            port,
            cgroup,
            dry_run,
            ..
        } => {
            let m = match port {
                Some(port) => format!("{cidr} port {port}"),
                None => cidr.clone(),
            };
            ("deny-connect", m, cgroup, *dry_run)
        }
    };
    let cgroup = cgroup
        .as_ref()
        .map_or_else(|| "any".to_string(), |c| c.display().to_string());
    let mode = if dry_run { "dry-run" } else { "enforce" };
    format!(
        "{:32} {:13} {:40} {:24} {mode}",
        p.rule(),
        action,
        matches,
        cgroup
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_say_what_each_policy_matches() {
        let kill = Policy::Kill {
            rule: "no-nc".into(),
            binary_path: None,
            binary_name: Some("nc".into()),
            ancestor: Some("nginx".into()),
            cgroup: None,
            dry_run: true,
        };
        let r = row(&kill);
        assert!(r.starts_with("no-nc "), "{r}");
        assert!(
            r.contains("kill") && r.contains("name nc under nginx"),
            "{r}"
        );
        assert!(r.ends_with("any                      dry-run"), "{r}");
        let deny = Policy::DenyConnect {
            rule: "no-imds".into(),
            cidr: "169.254.169.254/32".into(),
            port: Some(80),
            cgroup: Some("/app".into()),
            dry_run: false,
        };
        let r = row(&deny);
        assert!(r.contains("169.254.169.254/32 port 80"), "{r}");
        assert!(r.ends_with("/app                     enforce"), "{r}");
    }
}
