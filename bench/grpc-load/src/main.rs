//! Unary gRPC load over HTTP/2, cycling through many request bodies, as h2load does with one.
//!
//! usage: grpc-load URL FRAMES REQUESTS CONNECTIONS STREAMS
//!
//! FRAMES is a file of gRPC-framed messages one after another (bench/frame.py writes them);
//! request n sends frame n modulo their count. It prints requests per second, and fails on any
//! answer but HTTP 200 with `grpc-status: 0`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use http::{Request, Uri};
use tokio::net::TcpStream;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, frames, requests, connections, streams] = args.as_slice() else {
        return Err("usage: grpc-load URL FRAMES REQUESTS CONNECTIONS STREAMS".into());
    };
    let uri: Uri = url.parse()?;
    let frames = Arc::new(split(Bytes::from(std::fs::read(frames)?))?);
    let (requests, connections, streams): (usize, usize, usize) =
        (requests.parse()?, connections.parse()?, streams.parse()?);

    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let address = format!(
            "{}:{}",
            uri.host().ok_or("no host")?,
            uri.port_u16().unwrap_or(80)
        );
        let tcp = TcpStream::connect(address).await?;
        tcp.set_nodelay(true)?;
        let (client, connection) = h2::client::handshake(tcp).await?;
        tokio::spawn(connection);
        for _ in 0..streams {
            let (client, uri, frames, next) = (
                client.clone(),
                uri.clone(),
                Arc::clone(&frames),
                Arc::clone(&next),
            );
            workers.spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= requests {
                        return Ok::<_, Error>(());
                    }
                    call(client.clone(), &uri, frames[n % frames.len()].clone()).await?;
                }
            });
        }
    }
    while let Some(result) = workers.join_next().await {
        result??;
    }
    println!("{:.2}", requests as f64 / started.elapsed().as_secs_f64());
    Ok(())
}

/// One unary call; an error unless it ends with `grpc-status: 0`.
async fn call(
    client: h2::client::SendRequest<Bytes>,
    uri: &Uri,
    frame: Bytes,
) -> Result<(), Error> {
    let request = Request::post(uri)
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())?;
    let mut client = client.ready().await?;
    let (response, mut body) = client.send_request(request, false)?;
    body.send_data(frame, true)?;
    let (head, mut body) = response.await?.into_parts();
    while let Some(chunk) = body.data().await {
        let _ = body.flow_control().release_capacity(chunk?.len());
    }
    // A failure may come in the headers alone, with no trailers.
    let trailers = body.trailers().await?;
    let grpc_status = trailers
        .as_ref()
        .unwrap_or(&head.headers)
        .get("grpc-status")
        .map(|value| value.to_str().unwrap_or("?").to_owned());
    let status = head.status;
    match (status.as_u16(), grpc_status.as_deref()) {
        (200, Some("0")) => Ok(()),
        (status, grpc) => Err(format!("HTTP {status}, grpc-status {grpc:?}").into()),
    }
}

/// The frames of a file of gRPC-framed messages: a flag byte, a big-endian length, the message.
fn split(mut data: Bytes) -> Result<Vec<Bytes>, Error> {
    let mut frames = Vec::new();
    while !data.is_empty() {
        let length = u32::from_be_bytes(data.get(1..5).ok_or("a cut frame")?.try_into()?) as usize;
        if data.len() < 5 + length {
            return Err("a cut frame".into());
        }
        frames.push(data.split_to(5 + length));
    }
    if frames.is_empty() {
        return Err("no frame".into());
    }
    Ok(frames)
}
