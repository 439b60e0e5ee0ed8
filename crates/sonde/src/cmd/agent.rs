use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sonde_agent::metrics::MetricsConfig;
use sonde_agent::{Agent, AgentConfig};
use sonde_store::{RedbStore, Retention};

#[derive(clap::Args)]
pub struct Args {
    /// Where the event store lives.
    #[arg(long, env = "SONDE_DATA_DIR", default_value = "/var/lib/sonde")]
    data_dir: PathBuf,
    /// Address of the HTTP API. Loopback by default: the API has no authentication.
    #[arg(long, env = "SONDE_LISTEN", default_value = super::DEFAULT_SERVER)]
    listen: SocketAddr,
    /// Delete events older than this (e.g. 7d, 12h).
    #[arg(long, default_value = "7d", value_parser = humantime_duration)]
    retention_age: Duration,
    /// Keep at most this many bytes of events (e.g. 1GiB, 500MB).
    #[arg(long, default_value = "1GiB", value_parser = byte_size)]
    retention_size: u64,
    /// Kernel ring buffer size (e.g. 32MiB).
    #[arg(long, default_value = "32MiB", value_parser = byte_size)]
    ring_size: u64,
    /// Continuous profiling's samples per second on each CPU; 0 turns it off
    /// (`sonde profile --duration` still works).
    #[arg(long, default_value_t = 19, value_parser = clap::value_parser!(u32).range(0..=999))]
    profile_hz: u32,
    /// Continuous profiles are stored per process per window this long.
    #[arg(long, default_value = "10s", value_parser = humantime_duration)]
    profile_window: Duration,
    /// Unwind user stacks with frame pointers only (no stack copies, no
    /// .eh_frame unwinding).
    #[arg(long)]
    profile_frame_pointers_only: bool,
    /// YAML file of metrics derived from events and exporters to scrape
    /// (see docs/metrics.example.yaml); added to the built-in metrics.
    #[arg(long, env = "SONDE_METRICS_CONFIG")]
    metrics_config: Option<PathBuf>,
    /// Derived metrics and sonde's own are written to the metrics store
    /// this often.
    #[arg(long, default_value = "15s", value_parser = humantime_duration)]
    metrics_interval: Duration,
    /// Delete metric samples older than this (e.g. 15d).
    #[arg(long, default_value = "15d", value_parser = humantime_duration)]
    metrics_retention: Duration,
    /// Report file opens, creates, unlinks, renames, chmod and chown under
    /// this path (repeatable; filtered in the kernel, at most 255 bytes each);
    /// `PATH:write` reports only what modifies (no read-only opens). Given at
    /// least once, it replaces the default set (/etc/shadow, /etc/sudoers,
    /// /etc/ssh, /root/.ssh, /boot, /var/spool/cron, …; and with :write
    /// /etc, /root, /home, /usr/bin, /usr/lib, /lib, /bin, /sbin, /tmp,
    /// /dev/shm, /var/log, …).
    #[arg(long = "watch-path", value_name = "PATH")]
    watch_paths: Vec<String>,
    /// No file events at all (the file syscalls are not hooked).
    #[arg(long, conflicts_with = "watch_paths")]
    no_file_events: bool,
    /// YAML list of enforcement policies (`action: kill` or
    /// `action: deny-connect`) installed at start and read again on every
    /// rules reload (SIGHUP, `sonde alerts --reload`); a policy that would
    /// kill sonde or PID 1 refuses the start (or the reload).
    #[arg(long, env = "SONDE_ENFORCE_POLICY")]
    enforce_policy: Option<PathBuf>,
    /// Detection rules file (YAML, Falco-style; repeatable), loaded after
    /// the built-in rules/default.yaml. A rule that does not load refuses
    /// the start (file:line:col); SIGHUP or `sonde alerts --reload`
    /// reloads them, keeping the running rules if the new ones fail.
    #[arg(long = "rules", value_name = "FILE")]
    rules: Vec<PathBuf>,
    /// Do not load the built-in detection rules.
    #[arg(long)]
    no_default_rules: bool,
    /// A honeytoken path (repeatable): any access alerts at EMERGENCY with the
    /// process tree. Also watched by the file collector.
    #[arg(long = "canary", value_name = "PATH")]
    canaries: Vec<String>,
    /// POST each alert as JSON to this URL (own thread, bounded queue;
    /// failures and drops are counted on /metrics).
    #[arg(long, value_name = "URL")]
    alert_webhook: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SONDE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    // A bad metrics config is the user's to fix before anything else.
    let metrics_config = match &args.metrics_config {
        Some(path) => MetricsConfig::load(path)?,
        None => MetricsConfig::default(),
    };
    anyhow::ensure!(
        !args.metrics_interval.is_zero(),
        "--metrics-interval must be more than zero"
    );
    // Root, BTF and tracefs first: they explain failures better than what follows.
    sonde_bpf::preflight()?;
    let store = RedbStore::open(&args.data_dir)?;
    let config = AgentConfig {
        ring_bytes: u32::try_from(args.ring_size).context("--ring-size must be below 4GiB")?,
        retention: Retention {
            max_age: Some(args.retention_age),
            max_bytes: Some(args.retention_size),
        },
        profile_hz: args.profile_hz,
        profile_window: args.profile_window,
        profile_unwind_dwarf: !args.profile_frame_pointers_only,
        metrics: metrics_config,
        metrics_interval: args.metrics_interval,
        enforce: sonde_agent::enforce::PolicySources {
            inline: Vec::new(),
            file: args.enforce_policy.clone(),
        },
        ..AgentConfig::default()
    };
    let config = AgentConfig {
        watch_paths: match (args.no_file_events, args.watch_paths.is_empty()) {
            (true, _) => Vec::new(),
            (false, true) => config.watch_paths,
            (false, false) => args.watch_paths.clone(),
        },
        rules: sonde_agent::detect::RuleSources {
            builtin: !args.no_default_rules,
            files: args.rules.clone(),
            canaries: args.canaries.clone(),
        },
        alert_webhook: args.alert_webhook.clone(),
        ..config
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(args.listen))
        .with_context(|| {
            format!(
                "cannot listen on {} (choose another with --listen)",
                args.listen
            )
        })?;
    let metrics = open_metrics(&args.data_dir.join("metrics"), args.metrics_retention)?;
    let agent = Agent::start(config, Arc::new(store), Arc::new(metrics))?;
    tracing::info!(
        api = %format!("http://{}", args.listen),
        data_dir = %args.data_dir.display(),
        "sonde agent running"
    );
    runtime.spawn(reload_on_sighup(agent.handle()));
    let served = runtime.block_on(sonde_api::serve(
        listener,
        agent.handle(),
        shutdown_signal(),
    ));
    tracing::info!("stopping: flushing queued events to the store");
    agent.shutdown();
    served?;
    Ok(ExitCode::SUCCESS)
}

/// Opens the metrics store, replaying its write-ahead log, and says what
/// recovery found.
fn open_metrics(dir: &std::path::Path, retention: Duration) -> anyhow::Result<sonde_tsdb::Db> {
    let options = sonde_tsdb::DbOptions {
        retention: Some(retention),
        ..sonde_tsdb::DbOptions::default()
    };
    let (db, report) = sonde_tsdb::Db::open(dir, options)
        .with_context(|| format!("cannot open the metrics store in {}", dir.display()))?;
    if report.is_clean() {
        tracing::info!(
            dir = %dir.display(),
            blocks = report.blocks_loaded.len(),
            wal_samples = report.wal_samples,
            "metrics store opened"
        );
    } else {
        tracing::warn!(
            dir = %dir.display(),
            blocks = report.blocks_loaded.len(),
            corrupt_blocks = ?report.corrupt_blocks,
            wal_bytes_dropped = report.wal_bytes_dropped(),
            wal_unknown_series_samples = report.wal_unknown_series_samples,
            wal_samples = report.wal_samples,
            "metrics store opened after repairs"
        );
    }
    Ok(db)
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// SIGHUP reloads the detection rules; on error the running rules stay
/// (the agent logs and counts it).
async fn reload_on_sighup(agent: sonde_agent::AgentHandle) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot handle SIGHUP; reload rules with `sonde alerts --reload`");
        return;
    };
    while hup.recv().await.is_some() {
        let a = agent.clone();
        // The load reads files and compiles; off the async workers.
        let _ = tokio::task::spawn_blocking(move || a.reload_rules()).await;
    }
}

fn humantime_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{e} (examples: 7d, 12h, 30m)"))
}

/// `1GiB`, `500MB`, `4096`.
fn byte_size(text: &str) -> Result<u64, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size (examples: 1GiB, 500MB)"))?;
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => {
            return Err(format!(
                "unknown size unit `{other}` (use B, KB, MB, GB, KiB, MiB, GiB)"
            ))
        }
    };
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(byte_size("4096"), Ok(4096));
        assert_eq!(byte_size("32MiB"), Ok(32 << 20));
        assert_eq!(byte_size("2GB"), Ok(2_000_000_000));
        assert!(byte_size("12XB").is_err());
        assert!(byte_size("MiB").is_err());
    }
}
