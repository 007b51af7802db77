//! A real Envoy for the callout kinds' end-to-end tests, with TCP upstreams that echo or greet;
//! the HTTP peers, upstream and client, are in `http.rs`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

pub use crate::http::{free_port, get, http_upstream, next, request};
use crate::http::{try_get, upstream, PATIENCE};
use crate::support::tool;

/// The ports of a generated `envoy/envoy.yaml`, each replaced by one of the test's.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub admin: SocketAddr,
    pub ingress: SocketAddr,
    pub stand_in_upstream: SocketAddr,
    pub ext_proc: SocketAddr,
    pub upstream: SocketAddr,
}

/// `yaml` with the port of each named section replaced: the first `port_value` after `admin:`, or
/// after `- name: <section>`, is the section's.
pub fn with_ports(yaml: &str, ports: &Ports) -> String {
    let sections = [
        ("admin:", ports.admin),
        ("- name: ingress", ports.ingress),
        ("- name: stand_in_upstream", ports.stand_in_upstream),
        ("- name: ext_proc", ports.ext_proc),
        ("- name: upstream", ports.upstream),
    ];
    let mut pending: Option<u16> = None;
    let mut replaced = 0;
    let mut out = String::new();
    for line in yaml.lines() {
        let trimmed = line.trim();
        if let Some((_, address)) = sections.iter().find(|(marker, _)| trimmed == *marker) {
            pending = Some(address.port());
        }
        match (pending, line.find("port_value: ")) {
            (Some(port), Some(at)) => {
                let digits = &line[at + "port_value: ".len()..];
                let end = digits
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(digits.len());
                out.push_str(&line[..at]);
                let _ = write!(out, "port_value: {port}");
                out.push_str(&digits[end..]);
                pending = None;
                replaced += 1;
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    assert_eq!(
        replaced,
        sections.len(),
        "envoy.yaml lacks one of the sections {sections:?}"
    );
    out
}

/// An Envoy process, stopped by its pid when dropped.
pub struct Envoy {
    child: Child,
    admin: SocketAddr,
}

impl Envoy {
    /// Start Envoy with `config` (written to `dir`), and wait until its admin says it is ready.
    pub fn start(dir: &Path, config: &str, admin: SocketAddr) -> Self {
        static STARTED: AtomicU32 = AtomicU32::new(0);
        // A file per Envoy: tests of one kind share its project directory.
        let path = dir.join(format!("envoy.test-{}.yaml", admin.port()));
        std::fs::write(&path, config).unwrap();
        // A base id of its own, so that Envoys of concurrent tests share no memory.
        let base_id = std::process::id() % 10_000 * 10 + STARTED.fetch_add(1, Ordering::Relaxed);
        let child = Command::new(tool("envoy"))
            .arg("-c")
            .arg(&path)
            .args(["--base-id", &base_id.to_string()])
            .args(["--concurrency", "1", "--log-level", "warn"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("failed to start Envoy: {err}"));
        let mut envoy = Self { child, admin };
        envoy.wait_ready();
        envoy
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("Envoy exited with {status} before it was ready");
            }
            if let Ok(response) = try_get(self.admin, "/ready", &[]) {
                if response.status == 200 {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "Envoy was not ready within {PATIENCE:?}"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Envoy's counters whose names start with `prefix`.
    pub fn stats(&self, prefix: &str) -> BTreeMap<String, u64> {
        let response = get(self.admin, &format!("/stats?filter=^{prefix}"), &[]);
        String::from_utf8(response.body)
            .unwrap()
            .lines()
            .filter_map(|line| {
                let (name, value) = line.split_once(": ")?;
                Some((name.to_owned(), value.parse().ok()?))
            })
            .collect()
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP upstream that echoes what it receives, and reports each chunk.
pub fn tcp_echo_upstream() -> (SocketAddr, mpsc::Receiver<Vec<u8>>) {
    upstream(|mut stream, seen| {
        let mut buffer = [0; 4096];
        while let Ok(read) = stream.read(&mut buffer) {
            if read == 0
                || seen.send(buffer[..read].to_vec()).is_err()
                || stream.write_all(&buffer[..read]).is_err()
            {
                break;
            }
        }
    })
}

/// A TCP upstream of a server-first protocol: `delay` after a client connects, it writes
/// `greeting` without waiting for the client, then reports each chunk it receives.
pub fn tcp_greeting_upstream(
    greeting: &'static [u8],
    delay: Duration,
) -> (SocketAddr, mpsc::Receiver<Vec<u8>>) {
    upstream(move |mut stream, seen| {
        thread::sleep(delay);
        if stream.write_all(greeting).is_err() {
            return;
        }
        let mut buffer = [0; 4096];
        while let Ok(read) = stream.read(&mut buffer) {
            if read == 0 || seen.send(buffer[..read].to_vec()).is_err() {
                break;
            }
        }
    })
}
