//! Container identity from a cgroup path.
//!
//! Runtimes name a container's cgroup after its id, in one of two layouts:
//! the cgroupfs driver (`/docker/<id>`, `/kubepods/burstable/pod<uid>/<id>`)
//! and the systemd driver (`/system.slice/docker-<id>.scope`,
//! `.../kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope`). The
//! component closest to the leaf wins, so the innermost of nested containers is
//! reported.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Container {
    /// Full container id (64 hex digits), or the machine name for systemd-nspawn.
    pub id: String,
    pub runtime: ContainerRuntime,
    /// Kubernetes pod UID when the cgroup path carries one.
    pub pod_uid: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContainerRuntime {
    Docker,
    Containerd,
    CriO,
    Podman,
    SystemdNspawn,
    /// A container id under a Kubernetes pod whose runtime the path does not name.
    Kubernetes,
}

/// Systemd-driver scope prefixes and the runtime each one names. Conmon
/// scopes (`crio-conmon-`, `libpod-conmon-`) hold the monitor, not the
/// container, and are deliberately absent.
const SCOPE_PREFIXES: [(&str, ContainerRuntime); 5] = [
    ("docker-", ContainerRuntime::Docker),
    ("cri-containerd-", ContainerRuntime::Containerd),
    ("nerdctl-", ContainerRuntime::Containerd),
    ("crio-", ContainerRuntime::CriO),
    ("libpod-", ContainerRuntime::Podman),
];

/// Returns the container a cgroup path belongs to, if any.
pub fn parse_container(cgroup_path: &str) -> Option<Container> {
    let parts: Vec<&str> = cgroup_path.split('/').filter(|p| !p.is_empty()).collect();
    let pod_uid = parts.iter().find_map(|p| pod_uid(p));
    for (depth, part) in parts.iter().enumerate().rev() {
        if let Some((id, runtime)) = scoped_id(part) {
            return Some(Container {
                id: id.to_string(),
                runtime,
                pod_uid,
            });
        }
        if is_container_id(part) {
            let above = &parts[..depth];
            let runtime = if above.contains(&"docker") {
                ContainerRuntime::Docker
            } else if above.iter().any(|p| p.starts_with("kubepods")) {
                ContainerRuntime::Kubernetes
            } else if above.contains(&"libpod_parent") {
                ContainerRuntime::Podman
            } else {
                // `/default/<id>` and friends: containerd namespaces (nerdctl, ctr).
                ContainerRuntime::Containerd
            };
            return Some(Container {
                id: part.to_string(),
                runtime,
                pod_uid,
            });
        }
        if let Some(machine) = part
            .strip_prefix("machine-")
            .and_then(|m| m.strip_suffix(".scope"))
            .filter(|_| above_is(&parts[..depth], "machine.slice"))
        {
            return Some(Container {
                id: unescape_systemd(machine),
                runtime: ContainerRuntime::SystemdNspawn,
                pod_uid: None,
            });
        }
    }
    None
}

fn above_is(above: &[&str], name: &str) -> bool {
    above.last() == Some(&name)
}

fn scoped_id(part: &str) -> Option<(&str, ContainerRuntime)> {
    let body = part.strip_suffix(".scope").unwrap_or(part);
    SCOPE_PREFIXES.iter().find_map(|(prefix, runtime)| {
        body.strip_prefix(prefix)
            .filter(|id| is_container_id(id))
            .map(|id| (id, *runtime))
    })
}

fn is_container_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `pod<uid>` (cgroupfs) or `kubepods-<qos>-pod<uid_with_underscores>.slice` (systemd).
fn pod_uid(part: &str) -> Option<String> {
    let body = part.strip_suffix(".slice").unwrap_or(part);
    let idx = body.rfind("pod")?;
    if idx != 0 && !body[..idx].ends_with('-') {
        return None;
    }
    let uid = body[idx + 3..].replace('_', "-");
    let looks_like_uid = uid.len() == 36 && uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    looks_like_uid.then_some(uid)
}

/// Undoes systemd's `\xNN` escaping in unit names.
fn unescape_systemd(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(pos) = rest.find("\\x") {
        out.push_str(&rest[..pos]);
        let hex = rest.get(pos + 2..pos + 4);
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(byte) => {
                out.push(byte as char);
                rest = &rest[pos + 4..];
            }
            None => {
                out.push_str("\\x");
                rest = &rest[pos + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ContainerRuntime::*;

    const ID: &str = "3f4c0e1d2b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
    const POD: &str = "1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901";

    fn parsed(path: &str) -> Option<(String, ContainerRuntime, Option<String>)> {
        parse_container(path).map(|c| (c.id, c.runtime, c.pod_uid))
    }

    #[test]
    fn docker_both_drivers() {
        assert_eq!(
            parsed(&format!("/docker/{ID}")),
            Some((ID.into(), Docker, None))
        );
        assert_eq!(
            parsed(&format!("/system.slice/docker-{ID}.scope")),
            Some((ID.into(), Docker, None))
        );
    }

    #[test]
    fn kubernetes_containerd_and_crio() {
        let pod_sd = POD.replace('-', "_");
        assert_eq!(
            parsed(&format!(
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{pod_sd}.slice/cri-containerd-{ID}.scope"
            )),
            Some((ID.into(), Containerd, Some(POD.into())))
        );
        assert_eq!(
            parsed(&format!(
                "/kubepods.slice/kubepods-pod{pod_sd}.slice/crio-{ID}.scope"
            )),
            Some((ID.into(), CriO, Some(POD.into())))
        );
        assert_eq!(
            parsed(&format!("/kubepods/besteffort/pod{POD}/{ID}")),
            Some((ID.into(), Kubernetes, Some(POD.into())))
        );
    }

    #[test]
    fn podman_and_nerdctl() {
        assert_eq!(
            parsed(&format!("/machine.slice/libpod-{ID}.scope/container")),
            Some((ID.into(), Podman, None))
        );
        assert_eq!(
            parsed(&format!("/libpod_parent/libpod-{ID}")),
            Some((ID.into(), Podman, None))
        );
        assert_eq!(
            parsed(&format!("/default/{ID}")),
            Some((ID.into(), Containerd, None))
        );
        assert_eq!(
            parsed(&format!("/system.slice/nerdctl-{ID}.scope")),
            Some((ID.into(), Containerd, None))
        );
    }

    #[test]
    fn conmon_is_not_the_container() {
        assert_eq!(
            parsed(&format!("/machine.slice/libpod-conmon-{ID}.scope")),
            None
        );
        assert_eq!(
            parsed(&format!("/system.slice/crio-conmon-{ID}.scope")),
            None
        );
    }

    #[test]
    fn nspawn_machine_names_are_unescaped() {
        assert_eq!(
            parsed("/machine.slice/machine-build\\x2dbox.scope/payload"),
            Some(("build-box".into(), SystemdNspawn, None))
        );
    }

    #[test]
    fn host_paths_are_not_containers() {
        for path in [
            "/",
            "",
            "/user.slice/user-1000.slice/session-3.scope",
            "/system.slice/nginx.service",
            "/machine-foo.scope",
            &format!("/system.slice/docker-{}.scope", &ID[..63]),
            &format!("/system.slice/docker-{}.scope", ID.to_uppercase()),
        ] {
            assert_eq!(parsed(path), None, "{path}");
        }
    }

    #[test]
    fn innermost_container_wins() {
        let inner = "a".repeat(64);
        assert_eq!(
            parsed(&format!("/system.slice/docker-{ID}.scope/docker/{inner}")),
            Some((inner, Docker, None))
        );
    }
}
