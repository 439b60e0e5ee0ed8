//! blazesym on a thread of its own.
//!
//! `blazesym::symbolize::Symbolizer` caches parsed files behind `Rc` and
//! `RefCell`, so it is not `Send`; the profiler needs a `Send` symbolizer.
//! [`Blaze`] owns a thread that owns the blazesym symbolizer (and so its
//! caches), sends it one batch of addresses at a time and waits for the
//! owned answer. If blazesym panics, the thread is started again and the
//! batch reported as failed.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

use blazesym::symbolize::source::{Elf, Kernel, Process, Source};
use blazesym::symbolize::{cache, evict, CodeInfo, Input, Symbolized};
use blazesym::Pid;

use crate::SymbolizeError;

/// One batch of work.
#[derive(Debug)]
pub(crate) enum Job {
    /// File offsets in an ELF file.
    Elf { path: PathBuf, offsets: Vec<u64> },
    /// Kernel addresses.
    Kernel { addrs: Vec<u64> },
    /// Offsets into the vDSO of a process whose vDSO mapping is `len` bytes.
    Vdso { len: u64, offsets: Vec<u64> },
    /// Forget what was cached for a file that was closed.
    Evict { path: PathBuf },
}

/// The function an address is in, then the functions inlined there,
/// innermost last; each with the source location of the address within it.
pub(crate) type Symbol = Vec<Located>;

#[derive(Debug, Clone)]
pub(crate) struct Located {
    pub function: String,
    pub file: Option<String>,
    pub line: Option<u32>,
}

/// One entry per address (`None`: no symbol), or why the whole batch failed.
pub(crate) type Reply = Result<Vec<Option<Symbol>>, String>;

#[derive(Debug)]
pub(crate) struct Blaze {
    jobs: Sender<Job>,
    replies: Receiver<Reply>,
    thread: Option<JoinHandle<()>>,
}

impl Blaze {
    pub fn spawn() -> Result<Self, SymbolizeError> {
        let (jobs, job_rx) = mpsc::channel();
        let (reply_tx, replies) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sonde-symbolize".into())
            .spawn(move || run(job_rx, reply_tx))
            .map_err(SymbolizeError::Thread)?;
        Ok(Self {
            jobs,
            replies,
            thread: Some(thread),
        })
    }

    /// Runs `job` (not an eviction) and waits for its answer.
    pub fn request(&mut self, job: Job) -> Reply {
        if self.jobs.send(job).is_ok() {
            if let Ok(reply) = self.replies.recv() {
                return reply;
            }
        }
        tracing::error!("the blazesym thread died (panicked); starting it again");
        match Self::spawn() {
            // Dropping the old one joins its thread.
            Ok(fresh) => *self = fresh,
            Err(error) => tracing::error!(%error, "cannot restart the blazesym thread"),
        }
        Err("the blazesym thread panicked".into())
    }

    pub fn evict(&mut self, path: PathBuf) {
        // If the thread is gone, so is its cache.
        let _ = self.jobs.send(Job::Evict { path });
    }
}

impl Drop for Blaze {
    fn drop(&mut self) {
        // Closing the job channel ends the thread's loop.
        let (closed, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.jobs, closed));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(jobs: Receiver<Job>, replies: Sender<Reply>) {
    let mut symbolizer = blazesym::symbolize::Symbolizer::builder()
        .enable_code_info(true)
        .enable_inlined_fns(true)
        .enable_demangling(true)
        .build();
    let vdso = own_vdso();
    if vdso.is_some() {
        // Our own maps, once: vDSO addresses are symbolized through them.
        let cache_self = cache::Cache::from(cache::Process::new(Pid::Slf));
        if let Err(error) = symbolizer.cache(&cache_self) {
            tracing::debug!(%error, "cannot cache our own maps");
        }
    }
    for job in jobs {
        let reply = match job {
            Job::Evict { path } => {
                if let Err(error) = symbolizer.evict(&evict::Evict::from(evict::Elf::new(path))) {
                    tracing::debug!(%error, "blazesym eviction failed");
                }
                continue;
            }
            Job::Elf { path, offsets } => symbolize(
                &symbolizer,
                &Source::Elf(Elf::new(path)),
                Input::FileOffset(&offsets),
            ),
            Job::Kernel { addrs } => symbolize(
                &symbolizer,
                &Source::Kernel(Kernel::default()),
                Input::AbsAddr(&addrs),
            ),
            Job::Vdso { len, offsets } => match vdso {
                // Every process of this kernel maps the same vDSO image: name
                // the address at the same offset in our own.
                Some((start, own_len)) if own_len == len => {
                    let addrs: Vec<u64> = offsets.iter().map(|o| start + o).collect();
                    let mut own = Process::new(Pid::Slf);
                    own.debug_syms = false;
                    own.perf_map = false;
                    own.map_files = false;
                    symbolize(&symbolizer, &Source::Process(own), Input::AbsAddr(&addrs))
                }
                _ => Err("no matching vDSO in this process".into()),
            },
        };
        if replies.send(reply).is_err() {
            return;
        }
    }
}

fn symbolize(
    symbolizer: &blazesym::symbolize::Symbolizer,
    source: &Source,
    input: Input<&[u64]>,
) -> Reply {
    let symbolized = symbolizer
        .symbolize(source, input)
        .map_err(|e| format!("{e:#}"))?;
    Ok(symbolized.iter().map(owned).collect())
}

fn owned(symbolized: &Symbolized) -> Option<Symbol> {
    let sym = symbolized.as_sym()?;
    let outer = located(&sym.name, sym.code_info.as_deref());
    let inlined = sym
        .inlined
        .iter()
        .map(|f| located(&f.name, f.code_info.as_ref()));
    Some(std::iter::once(outer).chain(inlined).collect())
}

fn located(function: &str, code: Option<&CodeInfo>) -> Located {
    Located {
        function: function.to_owned(),
        file: code.map(|c| c.to_path().to_string_lossy().into_owned()),
        line: code.and_then(|c| c.line),
    }
}

/// Our own vDSO: start and length.
fn own_vdso() -> Option<(u64, u64)> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    crate::maps::executable_mappings(&maps)
        .0
        .into_iter()
        .find(|m| m.backing == crate::maps::Backing::Vdso)
        .map(|m| (m.start, m.end - m.start))
}
