//! The topology: kernel programs → ring reader → process table → store
//! writer → live subscribers, each stage on its own thread, joined by
//! bounded queues whose overflows are counted.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;

use serde::Serialize;
use sonde_bpf::{
    CaptureProgram, DropReasons, EnforceProgram, Hook, NetworkOptions, NetworkProgram,
    ProcessProgram, ProfileOptions, ProfileProgram, SecurityOptions, SecurityProgram,
    CAPTURE_HOOKS, ENFORCE_HOOKS, NETWORK_HOOKS, PROCESS_HOOKS, PROFILE_HOOKS,
};
use sonde_event::{Event, EventKind, Profile, Timestamp, SCHEMA_VERSION};
use sonde_store::{EventStore, StoreStats};
use sonde_tsdb::Db;
use tokio::sync::broadcast;

use crate::clock::BootClock;
use crate::detect::{self, AlertSinks, ReloadReport, RulesControl, RulesError};
use crate::enforce::{Enforcer, RuleNames};
use crate::kernel_counters::KernelCounters;
use crate::metrics::{self, MetricsHandle, Scraper, TargetConfig};
use crate::network_events::NetworkEvents;
use crate::process_table::ProcessTable;
use crate::processor::Processor;
use crate::profiling::{
    continuous, Collector, Identities, ProfileRequest, SessionError, Sessions, Target,
};
use crate::requests::RequestTracker;
use crate::security_events::SecurityEvents;
use crate::stats::{Stats, StatsSnapshot};
use crate::tls_libraries::TlsWatcher;
use crate::udp_flows::UdpReporter;
use crate::writer::WriterConfig;
use crate::{processor, ring_reader, writer, AgentConfig, AgentError};
use sonde_event::ExecIds;

/// A running agent. Holds the kernel programs: dropping or
/// [`shutdown`](Agent::shutdown) detaches them.
pub struct Agent {
    handle: AgentHandle,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// Stopped after the pipeline, so the last flush holds every event.
    metrics_stop: Arc<AtomicBool>,
    metrics_threads: Vec<JoinHandle<()>>,
    // Declared last: detached after the threads that read from them have stopped.
    _process: ProcessProgram,
    _security: SecurityProgram,
    _capture: Arc<CaptureProgram>,
    _network: NetworkProgram,
    _enforce: Option<EnforceProgram>,
}

/// What the API needs of a running agent; cheap to clone, shareable.
#[derive(Clone)]
pub struct AgentHandle {
    stats: Arc<Stats>,
    store: Arc<dyn EventStore>,
    live: broadcast::Sender<Arc<Event>>,
    sessions: Arc<Sessions>,
    metrics: Arc<Db>,
    started: Timestamp,
    /// The file and security hooks attached (those this kernel has).
    security_hooks: Vec<Hook>,
    rules: Arc<RulesControl>,
    enforcer: Option<Arc<Enforcer>>,
}

/// `sonde status`.
#[derive(Debug, Serialize)]
pub struct AgentStatus {
    pub version: &'static str,
    pub schema_version: u32,
    pub started: Timestamp,
    pub uptime_seconds: u64,
    pub collectors: Vec<CollectorStatus>,
    pub pipeline: StatsSnapshot,
    pub lost_total: u64,
    pub store: Option<StoreStats>,
    pub store_error: Option<String>,
    /// Encoded bytes per stored exec event.
    pub exec_event_bytes: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct CollectorStatus {
    pub name: &'static str,
    pub hooks: Vec<Hook>,
}

impl Agent {
    /// Applies retention to `store`, loads and attaches the kernel programs,
    /// seeds the process table from /proc, and starts the pipeline writing
    /// to `store` and its metrics to `metrics`.
    pub fn start(
        config: AgentConfig,
        store: Arc<dyn EventStore>,
        metrics: Arc<Db>,
    ) -> Result<Agent, AgentError> {
        let stats = Arc::new(Stats::default());
        // A bad metrics config refuses to start before the kernel is touched.
        config.metrics.validate()?;
        let derived = MetricsHandle::new(&config.metrics, &stats)?;
        // So do detection rules that do not load (file:line:col in the error).
        let rules = detect::load(&config.rules)?;
        // Canary paths are watched by the file collector whatever the prefixes.
        let watch_paths = detect::canary::watch_paths(&config.watch_paths, &rules.canaries);
        raise_open_file_limit();
        // Before anything is collected: a restarted agent serves no stale events.
        writer::apply_retention(store.as_ref(), &config.retention, &stats);
        // Processes started before the programs are attached are named from
        // /proc (clock-tick start times); later ones from their exec records.
        let seeded_before_ns = BootClock::now_boot_ns();
        let process = ProcessProgram::load(config.ring_bytes)?;
        let network = NetworkProgram::load(NetworkOptions {
            ring_bytes: config.ring_bytes,
            report_interval: config.tcp_report_interval,
            drop_records_per_sec: config.drop_records_per_sec,
        })?;
        let capture = Arc::new(CaptureProgram::load(config.capture_ring_bytes, &network)?);
        let security = SecurityProgram::load(&SecurityOptions {
            ring_bytes: config.ring_bytes,
            watch_paths: watch_paths.clone(),
        })?;
        let reasons = DropReasons::from_running_kernel().map_err(AgentError::DropReasons)?;
        let enforce = load_enforcement(&config)?;
        let counters = KernelCounters {
            lost: vec![
                process.lost_counter()?,
                network.lost_counter()?,
                capture.lost_counter()?,
                security.lost_counter()?,
            ],
            net: network.counters()?,
            drop_reasons: network.drop_reasons()?,
            names: reasons.clone(),
            skipped: vec![
                process.skipped_runs()?,
                network.skipped_runs()?,
                capture.skipped_runs()?,
                security.skipped_runs()?,
            ],
            capture: capture.counters()?,
            security: security.counters()?,
        };
        let process_ring = process.events()?;
        let mut rings = vec![network.events()?, capture.events()?, security.events()?];
        let mut counters = counters;
        let mut enforcer = None;
        if let Some(program) = &enforce {
            counters.lost.push(program.lost_counter()?);
            counters.skipped.push(program.skipped_runs()?);
            rings.push(program.events()?);
            let e = Enforcer::new(program.rules()?, program.cgroup_root().cloned());
            enforcer = Some(Arc::new(e));
        }
        // The policies and the rules' actions: a refused set refuses the
        // start (the programs detach on return).
        let rules_control = Arc::new(RulesControl::start(
            config.rules.clone(),
            &rules,
            enforcer.clone(),
            config.enforce.clone(),
            stats.clone(),
        )?);
        let enforce_names = enforcer
            .as_ref()
            .map_or_else(RuleNames::default, |e| e.names());
        let stop = Arc::new(AtomicBool::new(false));
        let (live, _) = broadcast::channel(config.live_buffer);
        let (record_tx, record_rx) = crossbeam_channel::bounded(config.record_queue);
        let (event_tx, event_rx) = crossbeam_channel::bounded(config.event_queue);
        let event_tx_profiles = event_tx.clone();

        // The programs are attached before /proc is read, so a process is
        // either in the snapshot or in the ring buffer (or both).
        let clock = BootClock::new();
        let ids = ExecIds::for_this_boot()?;
        let mut table = ProcessTable::new(ids.clone(), clock);
        let network_events = NetworkEvents::new(clock, reasons);
        let security_events = SecurityEvents::new(clock, &watch_paths);
        let udp = UdpReporter::new(
            network.udp_flows()?,
            network.udp_owners()?,
            clock,
            config.udp_idle_timeout,
        );
        let requests = RequestTracker::new(clock, Some(capture.control()?), stats.clone());
        // Before any traffic is read: the system's libssl and those mapped now.
        let mut tls = TlsWatcher::new(capture.clone());
        tls.scan(&stats);
        let mut threads = Vec::new();
        let (s, st) = (stats.clone(), stop.clone());
        threads.push(spawn("sonde-ring", move || {
            ring_reader::run(process_ring, rings, counters, record_tx, s, st)
        })?);
        table.seed_from_procfs(store.as_ref());
        let s = stats.clone();
        threads.push(spawn("sonde-process", move || {
            let p = Processor {
                table,
                network: network_events,
                udp,
                udp_every: config.udp_report_interval,
                requests,
                tls,
                security: security_events,
                enforce_names,
                clock,
            };
            processor::run(p, record_rx, event_tx, s)
        })?);
        let writer_config = WriterConfig {
            batch_max: config.batch_max,
            batch_wait: config.batch_wait,
            retention: config.retention,
            retention_every: config.retention_every,
        };
        let mut webhook = None;
        if let Some(url) = &config.alert_webhook {
            let (w, thread) = detect::webhook::Webhook::start(url.clone(), stats.clone())?;
            webhook = Some(w);
            threads.push(thread);
        }
        let sinks = AlertSinks {
            store: store.clone(),
            live: live.clone(),
            webhook,
        };
        let (detect, detect_thread) =
            detect::start(rules, rules_control.clone(), sinks, stats.clone())?;
        let (s, w, l, d) = (stats.clone(), store.clone(), live.clone(), derived.clone());
        threads.push(spawn("sonde-writer", move || {
            writer::run(writer_config, w, event_rx, l, d, detect, s)
        })?);
        // Joined after the writer, whose end closes its queue.
        threads.push(detect_thread);
        let metrics_stop = Arc::new(AtomicBool::new(false));
        let metrics_threads = spawn_metrics(&config, derived, &metrics, &stats, &metrics_stop)?;

        if config.profile_hz > 0 {
            let program = ProfileProgram::load(ProfileOptions {
                hz: config.profile_hz,
                pid: None,
                copy_stack: config.profile_unwind_dwarf,
                ring_bytes: 8 << 20,
            })?;
            let collector = Collector::new(
                config.profile_hz,
                Target::All,
                Identities::new(ids.clone(), clock, seeded_before_ns),
                stats.clone(),
            )?;
            let (s, st, tx) = (stats.clone(), stop.clone(), event_tx_profiles);
            let window = config.profile_window;
            threads.push(spawn("sonde-profiler", move || {
                continuous::run(program, collector, window, tx, s, st)
            })?);
        }
        let sessions = Sessions::new(
            ids,
            clock,
            seeded_before_ns,
            config.profile_unwind_dwarf,
            stats.clone(),
        );
        let handle = AgentHandle {
            stats,
            store,
            live,
            sessions: Arc::new(sessions),
            metrics,
            started: Timestamp::now(),
            security_hooks: security.attached().to_vec(),
            rules: rules_control,
            enforcer,
        };
        Ok(Agent {
            handle,
            stop,
            threads,
            metrics_stop,
            metrics_threads,
            _process: process,
            _security: security,
            _capture: capture,
            _network: network,
            _enforce: enforce,
        })
    }

    pub fn handle(&self) -> AgentHandle {
        self.handle.clone()
    }

    /// Stops reading the kernel, lets every queued event reach the store, and
    /// detaches the programs.
    pub fn shutdown(mut self) {
        self.stop_threads();
    }

    fn stop_threads(&mut self) {
        self.stop.store(true, Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        self.metrics_stop.store(true, Relaxed);
        for thread in self.metrics_threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.stop_threads();
    }
}

/// The enforcement programs. Without policies to install, a kernel that
/// cannot load them only loses enforcement (said in the log and `status`).
fn load_enforcement(config: &AgentConfig) -> Result<Option<EnforceProgram>, AgentError> {
    let required = !config.enforce.inline.is_empty() || config.enforce.file.is_some();
    match EnforceProgram::load(1 << 20) {
        Ok(program) => Ok(Some(program)),
        Err(e) if !required => {
            tracing::warn!(error = %e, "enforcement is unavailable");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// The profiler keeps every mapped file it may still symbolize open (and
/// blazesym one more descriptor each): thousands, past the usual soft limit
/// of 1024. Raising the soft limit to the hard one needs no privilege.
fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid, initialised struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                tracing::warn!("cannot raise the open file limit; profiles of many binaries may show [unknown] frames");
            }
        }
    }
}

/// The metrics flush thread and one scrape thread per target.
fn spawn_metrics(
    config: &AgentConfig,
    derived: MetricsHandle,
    db: &Arc<Db>,
    stats: &Arc<Stats>,
    stop: &Arc<AtomicBool>,
) -> Result<Vec<JoinHandle<()>>, AgentError> {
    let mut threads = Vec::new();
    let (d, s, st, interval) = (
        db.clone(),
        stats.clone(),
        stop.clone(),
        config.metrics_interval,
    );
    threads.push(spawn("sonde-metrics", move || {
        metrics::run_flusher(derived, d, s, interval, st)
    })?);
    for job in &config.metrics.scrape_configs {
        for target in TargetConfig::from_job(job)? {
            let scraper = Scraper::new(target, db.clone(), stats.clone());
            let st = stop.clone();
            threads.push(spawn("sonde-scrape", move || scraper.run(st))?);
        }
    }
    Ok(threads)
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name(name.into()).spawn(f)
}

impl AgentHandle {
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// The metrics store, which PromQL queries read.
    pub fn metrics(&self) -> &Arc<Db> {
        &self.metrics
    }

    /// Live events, each published once it is durable.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.live.subscribe()
    }

    /// Takes an on-demand profile; blocks for the request's duration.
    pub fn profile(&self, request: &ProfileRequest) -> Result<Vec<Profile>, SessionError> {
        self.sessions.take(request)
    }

    /// Installs enforcement policies (kill at exec, deny connect); `None`
    /// when this kernel could not load the enforcement programs.
    pub fn enforcer(&self) -> Option<&Arc<Enforcer>> {
        self.enforcer.as_ref()
    }

    /// Reloads the detection rules; on error the running set stays.
    pub fn reload_rules(&self) -> Result<ReloadReport, RulesError> {
        self.rules.reload()
    }

    /// The running rule set's counts.
    pub fn rules(&self) -> ReloadReport {
        self.rules.current()
    }

    pub fn count_lagged(&self, missed: u64) {
        self.stats.subscriber_lagged.fetch_add(missed, Relaxed);
    }

    pub fn status(&self) -> AgentStatus {
        let pipeline = self.stats.snapshot();
        let (store, store_error) = match self.store.stats() {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let exec_event_bytes = store.as_ref().and_then(|s| {
            let exec = s
                .per_kind
                .iter()
                .find(|k| k.kind == EventKind::ProcessExec)?;
            (exec.events > 0).then(|| exec.bytes as f64 / exec.events as f64)
        });
        AgentStatus {
            version: env!("CARGO_PKG_VERSION"),
            schema_version: SCHEMA_VERSION,
            started: self.started,
            uptime_seconds: (Timestamp::now().0.saturating_sub(self.started.0)) / 1_000_000_000,
            collectors: vec![
                CollectorStatus {
                    name: "process",
                    hooks: PROCESS_HOOKS.to_vec(),
                },
                CollectorStatus {
                    name: "network",
                    hooks: NETWORK_HOOKS.to_vec(),
                },
                CollectorStatus {
                    name: "requests",
                    hooks: CAPTURE_HOOKS.to_vec(),
                },
                CollectorStatus {
                    name: "profiler",
                    hooks: PROFILE_HOOKS.to_vec(),
                },
                CollectorStatus {
                    name: "security",
                    hooks: self.security_hooks.clone(),
                },
                CollectorStatus {
                    name: "enforcement",
                    hooks: if self.enforcer.is_some() {
                        ENFORCE_HOOKS.to_vec()
                    } else {
                        Vec::new()
                    },
                },
            ],
            lost_total: pipeline.total_lost(),
            pipeline,
            store,
            store_error,
            exec_event_bytes,
        }
    }
}
