//! The plain HTTP/1.1 peers of the end-to-end tests, behind Envoy and Tyk alike: a client that
//! sends one request per connection, and an upstream that records what reaches it.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// How long a peer may take to open its port, or to answer.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The `Host` that [`request`] sends.
pub const HOST: &str = "test";

/// The `Set-Cookie` values of every answer of [`http_upstream`], as two header lines.
pub const UPSTREAM_COOKIES: [&str; 2] = ["flavour=oat", "batch=7"];

/// A free port on loopback.
pub fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
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

    /// Every value of the header `name`, in order.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Read one message from `reader`; `None` at a clean end of stream.
pub fn read_message(reader: &mut impl BufRead) -> std::io::Result<Option<Message>> {
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

pub fn try_get(
    address: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<Message> {
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
        "{method} {path} HTTP/1.1\r\nhost: {HOST}\r\nconnection: close\r\ncontent-length: {}\r\n",
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

/// An HTTP/1.1 upstream that answers every request with 200 `upstream body` and the two
/// [`UPSTREAM_COOKIES`], and reports each request it received. A request with
/// `x-response-size: N` is answered with N bytes of `y` instead.
pub fn http_upstream() -> (SocketAddr, mpsc::Receiver<Message>) {
    upstream(|stream, seen| {
        let mut writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        while let Ok(Some(request)) = read_message(&mut reader) {
            let body = match request.header("x-response-size") {
                Some(size) => "y".repeat(size.parse().unwrap()),
                None => "upstream body".to_owned(),
            };
            let [first, second] = UPSTREAM_COOKIES;
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nset-cookie: {first}\r\n\
                 set-cookie: {second}\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            if seen.send(request).is_err() || writer.write_all(response.as_bytes()).is_err() {
                break;
            }
        }
    })
}

/// An upstream on loopback that runs `serve` for each connection, on a thread of its own, with
/// a sender for what it reports.
pub fn upstream<T: Send + 'static>(
    serve: impl Fn(TcpStream, mpsc::Sender<T>) + Copy + Send + 'static,
) -> (SocketAddr, mpsc::Receiver<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let (seen, received) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let seen = seen.clone();
            thread::spawn(move || serve(stream, seen));
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
