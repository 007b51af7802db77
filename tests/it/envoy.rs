//! A real Envoy for the callout kinds' end-to-end tests, with the small peers around it: upstreams
//! that record what reaches them, and a plain HTTP/1.1 client.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::tool;

/// How long a peer may take to open its port, or to answer.
const PATIENCE: Duration = Duration::from_secs(30);

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

/// A free port on loopback.
pub fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
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
        let path = dir.join("envoy.test.yaml");
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

/// An HTTP/1.1 message: a request's method and path, or a response's status, and its headers
/// (names in lower case) and body (de-chunked).
#[derive(Debug, Clone, Default)]
pub struct Message {
    pub start: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Message {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Read one message from `reader`; `None` at a clean end of stream.
fn read_message(reader: &mut impl BufRead) -> std::io::Result<Option<Message>> {
    let mut start = String::new();
    if reader.read_line(&mut start)? == 0 {
        return Ok(None);
    }
    let mut message = Message {
        start: start.trim_end().to_owned(),
        ..Message::default()
    };
    message.status = message
        .start
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_default();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            message
                .headers
                .push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    if message.header("transfer-encoding") == Some("chunked") {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            message.body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) = message.header("content-length") {
        let mut body = vec![0; length.parse().unwrap_or(0)];
        reader.read_exact(&mut body)?;
        message.body = body;
    } else if message.status != 0 {
        reader.read_to_end(&mut message.body)?;
    }
    Ok(Some(message))
}

fn try_get(address: SocketAddr, path: &str, headers: &[(&str, &str)]) -> std::io::Result<Message> {
    request(address, "GET", path, headers, b"")
}

/// A request to `address`, on a connection of its own.
pub fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Message> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(PATIENCE))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    read_message(&mut BufReader::new(stream))?
        .ok_or_else(|| std::io::Error::other("the connection closed without a response"))
}

pub fn get(address: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Message {
    try_get(address, path, headers).unwrap_or_else(|err| panic!("GET {path}: {err}"))
}

/// An HTTP/1.1 upstream that answers every request with 200 `upstream body`, and reports each
/// request it received.
pub fn http_upstream() -> (SocketAddr, mpsc::Receiver<Message>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let (seen, received) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let seen = seen.clone();
            thread::spawn(move || {
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                while let Ok(Some(request)) = read_message(&mut reader) {
                    let body = "upstream body";
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if seen.send(request).is_err() || writer.write_all(response.as_bytes()).is_err()
                    {
                        break;
                    }
                }
            });
        }
    });
    (address, received)
}

/// A TCP upstream that echoes what it receives, and reports each chunk.
pub fn tcp_echo_upstream() -> (SocketAddr, mpsc::Receiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let (seen, received) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let seen = seen.clone();
            thread::spawn(move || {
                let mut buffer = [0; 4096];
                while let Ok(read) = stream.read(&mut buffer) {
                    if read == 0
                        || seen.send(buffer[..read].to_vec()).is_err()
                        || stream.write_all(&buffer[..read]).is_err()
                    {
                        break;
                    }
                }
            });
        }
    });
    (address, received)
}

/// What `received` reports next, within the test's patience.
pub fn next<T>(received: &mpsc::Receiver<T>) -> T {
    received
        .recv_timeout(PATIENCE)
        .expect("the upstream received nothing")
}
