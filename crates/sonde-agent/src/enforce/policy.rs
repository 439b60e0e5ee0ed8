//! Enforcement policies as users (and rule actions) write them, and their
//! compilation into the kernel's rules, with the refusals: a kill policy
//! that would match sonde itself or PID 1's binary is never installed.

use std::fs;
use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sonde_bpf::{ConnectRuleSpec, KillMatch, KillRuleSpec};

/// One enforcement policy. In YAML, a list of:
///
/// ```yaml
/// - action: kill
///   rule: no-netcat-under-nginx
///   binary_name: nc
///   ancestor: nginx
/// - action: deny-connect
///   rule: no-metadata-service
///   cidr: 169.254.169.254/32
///   port: 80
///   dry_run: true
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Policy {
    /// SIGKILL at exec, before the new image runs its first instruction.
    /// Exactly one of `binary_path` and `binary_name`.
    Kill {
        /// The rule's name, carried by every enforcement event.
        rule: String,
        /// An absolute path: matches the file it names (by inode, so through
        /// symlinks, hard links and relative execs) and the exact path given
        /// to execve() (a script's own path).
        #[serde(default)]
        binary_path: Option<String>,
        /// The executed file's name, e.g. `nc`.
        #[serde(default)]
        binary_name: Option<String>,
        /// Only when a real parent, up to 16 levels up, has this task name
        /// (comm: the first 15 bytes of its executable's name).
        #[serde(default)]
        ancestor: Option<String>,
        /// Only in this cgroup v2 or below it: a path below the cgroup2
        /// mount (`/system.slice/nginx.service`) or an absolute one under it.
        #[serde(default)]
        cgroup: Option<PathBuf>,
        /// Report what would be killed, kill nothing.
        #[serde(default)]
        dry_run: bool,
    },
    /// connect() to a matching destination fails with EPERM.
    DenyConnect {
        rule: String,
        /// `10.0.0.0/8`, `2001:db8::/32`, or one address.
        cidr: String,
        /// Only this destination port; every port when absent.
        #[serde(default)]
        port: Option<u16>,
        /// Only for tasks in this cgroup v2 or below it; every task when absent.
        #[serde(default)]
        cgroup: Option<PathBuf>,
        /// Report what would be denied, deny nothing.
        #[serde(default)]
        dry_run: bool,
    },
}

/// Where the enforcement policies come from: given in the configuration,
/// and a file (`--enforce-policy`) read at start and again on every reload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicySources {
    pub inline: Vec<Policy>,
    pub file: Option<PathBuf>,
}

impl PolicySources {
    /// The inline policies, then the file's.
    pub fn load(&self) -> Result<Vec<Policy>, PolicyError> {
        let mut all = self.inline.clone();
        if let Some(path) = &self.file {
            all.extend(Policy::load_file(path)?);
        }
        Ok(all)
    }
}

impl Policy {
    pub fn rule(&self) -> &str {
        match self {
            Policy::Kill { rule, .. } | Policy::DenyConnect { rule, .. } => rule,
        }
    }

    /// Reads a YAML list of policies.
    pub fn load_file(path: &Path) -> Result<Vec<Policy>, PolicyError> {
        let text = fs::read_to_string(path).map_err(|e| PolicyError::Read {
            path: path.into(),
            reason: e.to_string(),
        })?;
        Self::parse(&text).map_err(|e| match e {
            PolicyError::Parse { reason, .. } => PolicyError::Parse {
                path: path.into(),
                reason,
            },
            other => other,
        })
    }

    pub fn parse(text: &str) -> Result<Vec<Policy>, PolicyError> {
        serde_yaml_ng::from_str(text).map_err(|e| PolicyError::Parse {
            path: PathBuf::new(),
            reason: e.to_string(),
        })
    }
}

/// Why a policy set was not installed. The running set stays.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read enforcement policies {}: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
    #[error("enforcement policies {}: {reason}", path.display())]
    Parse { path: PathBuf, reason: String },
    #[error("policy `{rule}` refused: {reason}")]
    Refused { rule: String, reason: String },
    #[error("policy `{rule}` is invalid: {reason}")]
    Invalid { rule: String, reason: String },
    #[error("enforcement is not running: {0}")]
    Unavailable(String),
    #[error("the kernel refused the policies: {0}")]
    Kernel(String),
}

/// Binaries a kill policy may never match: sonde's own and PID 1's, found
/// when the enforcer starts.
#[derive(Debug, Clone, Default)]
pub struct Protected {
    /// (kernel dev, inode) of each protected file.
    inodes: Vec<(u64, u64)>,
    paths: Vec<String>,
    names: Vec<String>,
}

/// The paths init systems run as PID 1: refused even when PID 1 is another
/// binary (in a container, say), since the host's init is one of them.
const INIT_PATHS: [&str; 4] = [
    "/sbin/init",
    "/usr/sbin/init",
    "/lib/systemd/systemd",
    "/usr/lib/systemd/systemd",
];

impl Protected {
    /// sonde's executable (this process), PID 1's, and the usual init paths.
    pub fn discover() -> Protected {
        let mut p = Protected::default();
        p.add_path(Path::new("/proc/self/exe"));
        if let Ok(exe) = fs::read_link("/proc/self/exe") {
            p.add_path(&exe);
        }
        // /proc/1/exe may be unreadable (another user namespace): argv[0]
        // and comm still name it.
        p.add_path(Path::new("/proc/1/exe"));
        if let Ok(exe) = fs::read_link("/proc/1/exe") {
            p.add_path(&exe);
        }
        if let Ok(cmdline) = fs::read("/proc/1/cmdline") {
            let argv0 = cmdline.split(|&b| b == 0).next().unwrap_or_default();
            let argv0 = String::from_utf8_lossy(argv0);
            if argv0.starts_with('/') {
                p.add_path(Path::new(argv0.as_ref()));
            }
        }
        if let Ok(comm) = fs::read_to_string("/proc/1/comm") {
            p.names.push(comm.trim().to_string());
        }
        for path in INIT_PATHS {
            p.add_path(Path::new(path));
        }
        p.names.sort();
        p.names.dedup();
        p
    }

    fn add_path(&mut self, path: &Path) {
        if let Some(id) = file_id(path) {
            self.inodes.push(id);
        }
        if !path.starts_with("/proc") {
            self.paths.push(path.to_string_lossy().into_owned());
            if let Some(name) = path.file_name() {
                self.names.push(name.to_string_lossy().into_owned());
            }
        }
    }

    fn check_path(
        &self,
        rule: &str,
        path: &str,
        id: Option<(u64, u64)>,
    ) -> Result<(), PolicyError> {
        let hit =
            self.paths.iter().any(|p| p == path) || id.is_some_and(|id| self.inodes.contains(&id));
        if hit {
            return Err(refused(
                rule,
                &format!("`{path}` is sonde's own binary or PID 1's"),
            ));
        }
        Ok(())
    }

    fn check_name(&self, rule: &str, name: &str) -> Result<(), PolicyError> {
        // comm is cut at 15 bytes: compare what the kernel would show.
        let cut = |s: &str| s.as_bytes()[..s.len().min(15)].to_vec();
        if self.names.iter().any(|n| n == name || cut(n) == cut(name)) {
            return Err(refused(
                rule,
                &format!("`{name}` is the name of sonde's own binary or PID 1's"),
            ));
        }
        Ok(())
    }
}

fn refused(rule: &str, reason: &str) -> PolicyError {
    PolicyError::Refused {
        rule: rule.into(),
        reason: reason.into(),
    }
}

fn invalid(rule: &str, reason: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        rule: rule.into(),
        reason: reason.into(),
    }
}

/// (kernel dev_t, inode) of the file at `path`, following symlinks. The
/// kernel's dev_t is `MAJOR << 20 | MINOR`; stat's is encoded differently.
fn file_id(path: &Path) -> Option<(u64, u64)> {
    let meta = fs::metadata(path).ok()?;
    let dev = meta.dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    Some(((u64::from(major) << 20) | u64::from(minor), meta.ino()))
}

/// A cgroup v2 directory's id (its inode) and level below the root.
fn cgroup_of(rule: &str, root: Option<&Path>, cgroup: &Path) -> Result<(u64, u32), PolicyError> {
    let root = root.ok_or_else(|| invalid(rule, "no cgroup v2 hierarchy is mounted"))?;
    let relative = cgroup.strip_prefix(root).unwrap_or(cgroup);
    let relative = relative.strip_prefix("/").unwrap_or(relative);
    if relative
        .components()
        .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(invalid(
            rule,
            format!("cgroup {} must be a plain path", cgroup.display()),
        ));
    }
    let dir = root.join(relative);
    let meta =
        fs::metadata(&dir).map_err(|e| invalid(rule, format!("cgroup {}: {e}", dir.display())))?;
    Ok((meta.ino(), relative.components().count() as u32))
}

/// The kernel rules of a policy set.
#[derive(Debug, Default)]
pub struct Compiled {
    pub kill: Vec<KillRuleSpec>,
    pub connect: Vec<ConnectRuleSpec>,
}

/// Compiles `policies`, the i-th getting rule id `first_id + i`. Any
/// refusal or error refuses the whole set.
pub fn compile(
    policies: &[Policy],
    first_id: u32,
    protected: &Protected,
    cgroup_root: Option<&Path>,
) -> Result<Compiled, PolicyError> {
    let mut out = Compiled::default();
    for (i, policy) in policies.iter().enumerate() {
        let rule_id = first_id.wrapping_add(i as u32);
        match policy {
            Policy::Kill {
                rule,
                binary_path,
                binary_name,
                ancestor,
                cgroup,
                dry_run,
            } => {
                let cgroup = cgroup
                    .as_deref()
                    .map(|c| cgroup_of(rule, cgroup_root, c))
                    .transpose()?;
                let spec = |matches| KillRuleSpec {
                    rule_id,
                    matches,
                    cgroup,
                    ancestor: ancestor.clone(),
                    dry_run: *dry_run,
                };
                match (binary_path, binary_name) {
                    (Some(path), None) => {
                        if !path.starts_with('/') {
                            return Err(invalid(rule, "binary_path must be absolute"));
                        }
                        let id = file_id(Path::new(path));
                        protected.check_path(rule, path, id)?;
                        if let Some((dev, ino)) = id {
                            out.kill.push(spec(KillMatch::Inode { dev, ino }));
                        }
                        out.kill.push(spec(KillMatch::Path(path.clone())));
                    }
                    (None, Some(name)) => {
                        protected.check_name(rule, name)?;
                        out.kill.push(spec(KillMatch::Name(name.clone())));
                    }
                    _ => {
                        return Err(invalid(
                            rule,
                            "a kill policy needs exactly one of binary_path and binary_name",
                        ))
                    }
                }
            }
            Policy::DenyConnect {
                rule,
                cidr,
                port,
                cgroup,
                dry_run,
            } => {
                let (addr, prefix) = parse_cidr(cidr).ok_or_else(|| {
                    invalid(rule, format!("`{cidr}` is not an address or a CIDR block"))
                })?;
                let root = cgroup_root.ok_or_else(|| {
                    invalid(
                        rule,
                        "deny-connect needs a cgroup v2 hierarchy; none is mounted",
                    )
                })?;
                let cgroup_id = match cgroup {
                    Some(c) => cgroup_of(rule, Some(root), c)?.0,
                    None => cgroup_of(rule, Some(root), Path::new("/"))?.0,
                };
                out.connect.push(ConnectRuleSpec {
                    rule_id,
                    cgroup_id,
                    addr,
                    prefix,
                    port: *port,
                    dry_run: *dry_run,
                });
            }
        }
    }
    Ok(out)
}

fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
        None => (text.parse::<IpAddr>().ok()?, None),
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = prefix.unwrap_or(max);
    (prefix <= max).then_some((addr, prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_policy_file_and_rejects_unknown_fields() {
        let policies = Policy::parse(
            "- action: kill\n  rule: r1\n  binary_name: nc\n  ancestor: nginx\n\
             - action: deny-connect\n  rule: r2\n  cidr: 10.0.0.0/8\n  port: 443\n  dry_run: true\n",
        )
        .unwrap();
        assert_eq!(policies.len(), 2);
        assert_eq!(policies[0].rule(), "r1");
        assert!(matches!(
            &policies[1],
            Policy::DenyConnect {
                port: Some(443),
                dry_run: true,
                ..
            }
        ));
        let err = Policy::parse("- action: kill\n  rule: r\n  binary_name: nc\n  colour: red\n");
        assert!(err.is_err(), "{err:?}");
        assert!(Policy::parse("- action: explode\n  rule: r\n").is_err());
    }

    #[test]
    fn the_example_policy_file_loads() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/enforce-policy.example.yaml");
        let policies = Policy::load_file(&path).unwrap();
        assert_eq!(policies.len(), 4);
        let err = Policy::load_file(Path::new("/nonexistent/policy.yaml")).unwrap_err();
        assert!(matches!(err, PolicyError::Read { .. }), "{err}");
    }

    #[test]
    fn cidrs() {
        assert_eq!(
            parse_cidr("10.0.0.0/8"),
            Some(("10.0.0.0".parse().unwrap(), 8))
        );
        assert_eq!(
            parse_cidr("127.0.0.1"),
            Some(("127.0.0.1".parse().unwrap(), 32))
        );
        assert_eq!(parse_cidr("::1"), Some(("::1".parse().unwrap(), 128)));
        assert_eq!(parse_cidr("10.0.0.0/33"), None);
        assert_eq!(parse_cidr("nope"), None);
    }

    #[test]
    fn sonde_itself_and_init_are_refused() {
        let protected = Protected::discover();
        let me = fs::read_link("/proc/self/exe").unwrap();
        let kill = |path: Option<&str>, name: Option<&str>| Policy::Kill {
            rule: "r".into(),
            binary_path: path.map(Into::into),
            binary_name: name.map(Into::into),
            ancestor: None,
            cgroup: None,
            dry_run: false,
        };
        for policy in [
            kill(me.to_str(), None),
            kill(None, me.file_name().and_then(|n| n.to_str())),
            kill(Some("/sbin/init"), None),
            kill(None, Some("systemd")),
        ] {
            let err = compile(std::slice::from_ref(&policy), 1, &protected, None).unwrap_err();
            assert!(
                matches!(err, PolicyError::Refused { .. }),
                "{policy:?}: {err}"
            );
        }
        assert!(compile(&[kill(None, Some("nc"))], 1, &protected, None).is_ok());
        assert!(compile(
            &[kill(Some("/bin/true"), Some("true"))],
            1,
            &protected,
            None
        )
        .is_err());
    }
}
