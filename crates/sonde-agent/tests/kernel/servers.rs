//! Real servers from Debian's packages, started on loopback for one test:
//! nginx (HTTP and HTTPS through its OpenSSL) and unbound (DNS). Each lives in
//! a temporary directory and is stopped when dropped.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether `program` is installed; prints why the test skips if not.
pub fn installed(program: &str) -> bool {
    let found = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(program).exists());
    if !found {
        eprintln!("SKIP: {program} is not installed (scripts/setup.sh installs it)");
    }
    found
}

fn wait_listening(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start listening");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub struct Nginx {
    pub port: u16,
    pub tls_port: u16,
    pub dir: TempDir,
    child: Child,
}

impl Nginx {
    pub fn start() -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("www")).unwrap();
        std::fs::write(d.join("www/index.html"), "hello from nginx\n").unwrap();
        std::fs::write(d.join("www/text.txt"), "compressible text\n".repeat(400)).unwrap();
        let big: Vec<u8> = (0..10 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(d.join("www/big.bin"), big).unwrap();
        let status = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args(["-subj", "/CN=localhost", "-keyout"])
            .arg(d.join("key.pem"))
            .arg("-out")
            .arg(d.join("cert.pem"))
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "openssl made no certificate");
        let (port, tls_port) = (free_port(), free_port());
        let p = d.display();
        let conf = format!(
            "daemon off;\nmaster_process on;\nworker_processes 1;\npid {p}/nginx.pid;\nerror_log {p}/error.log;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n access_log {p}/access.log;\n client_body_temp_path {p}/body;\n proxy_temp_path {p}/proxy;\n\
             fastcgi_temp_path {p}/fastcgi;\n uwsgi_temp_path {p}/uwsgi;\n scgi_temp_path {p}/scgi;\n\
             gzip on;\n gzip_types text/plain;\n gzip_min_length 0;\n\
             server {{\n  listen 127.0.0.1:{port};\n  listen 127.0.0.1:{tls_port} ssl;\n\
             ssl_certificate {p}/cert.pem;\n  ssl_certificate_key {p}/key.pem;\n  root {p}/www;\n\
             location = /fail {{ return 500 \"boom\\n\"; }}\n  location = /upload {{ return 200 \"stored\\n\"; }}\n }}\n}}\n"
        );
        std::fs::write(d.join("nginx.conf"), conf).unwrap();
        let child = Command::new("nginx")
            .arg("-c")
            .arg(d.join("nginx.conf"))
            .arg("-p")
            .arg(d)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_listening(port, "nginx");
        wait_listening(tls_port, "nginx (TLS)");
        Nginx {
            port,
            tls_port,
            dir,
            child,
        }
    }

    /// Lines of nginx's access log (written when each request ends).
    pub fn access_log(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("access.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("nginx")
            .arg("-c")
            .arg(self.dir.path().join("nginx.conf"))
            .arg("-p")
            .arg(self.dir.path())
            .args(["-s", "stop"])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

pub struct Unbound {
    pub port: u16,
    _dir: TempDir,
    child: Child,
}

impl Unbound {
    /// Serves `sonde.test.` from local data: www → 10.1.2.3, anything else NXDOMAIN.
    pub fn start() -> Unbound {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let p = dir.path().display();
        let conf = format!(
            "server:\n  interface: 127.0.0.1\n  port: {port}\n  do-daemonize: no\n  username: \"\"\n  chroot: \"\"\n\
             directory: \"{p}\"\n  pidfile: \"{p}/unbound.pid\"\n  use-syslog: no\n  logfile: \"\"\n  do-ip6: no\n\
             access-control: 127.0.0.0/8 allow\n  local-zone: \"sonde.test.\" static\n\
             local-data: \"www.sonde.test. 300 IN A 10.1.2.3\"\n  module-config: \"iterator\"\n\
             remote-control:\n  control-enable: no\n"
        );
        std::fs::write(dir.path().join("unbound.conf"), conf).unwrap();
        let child = Command::new("unbound")
            .arg("-c")
            .arg(dir.path().join("unbound.conf"))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_listening(port, "unbound");
        Unbound {
            port,
            _dir: dir,
            child,
        }
    }
}

impl Drop for Unbound {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
