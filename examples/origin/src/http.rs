//! The HTTP/1.1 server: hyper 1.x on a Tokio runtime, with the origin's limits and its one odd
//! need, closing a connection without answering.
//!
//! Why hyper: it is the maintained HTTP/1 implementation underneath most Rust servers, and it
//! already does the parts where hand-written servers go wrong — request parsing, keep-alive,
//! pipelining, chunked bodies, `Expect: 100-continue`, head limits (431), header-read timeouts.
//! What this module adds is small: the body limit, the framing refusals hyper lets through, the
//! connection cap, graceful shutdown, and the bridge to the synchronous [`Handler`] (run with
//! `spawn_blocking`, because the store is synchronous SQLite).
//!
//! How `drop` works: when the handler answers [`Reply::Drop`], the service returns an error, and
//! hyper aborts an HTTP/1 connection whose service failed without writing a response (see
//! hyperium/hyper#3659); the socket is closed and the edge sees a connection error, not a 500.
//! `tests/http.rs` checks that with a raw TCP client (zero response bytes).
//!
//! Request smuggling defences: conflicting `Content-Length`s, a transfer coding other than a lone
//! `chunked`, and `Transfer-Encoding` in HTTP/1.0 are refused with 400 and the connection closed
//! (hyper refuses most of these while parsing; the rest here). A request with both
//! `Content-Length` and `Transfer-Encoding` is read as chunked — `Transfer-Encoding` wins — and the
//! connection is closed after the answer (RFC 9112 §6.3; hyper hides the `Content-Length` from
//! the service, so it cannot be answered 400), which leaves nothing behind to smuggle.

use crate::log_line;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body, Incoming};
use hyper::header::{
    CONNECTION, CONTENT_LENGTH, HeaderMap, HeaderName, HeaderValue, TRANSFER_ENCODING,
};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{StatusCode, Version};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// Largest request head (request line and headers) accepted, in bytes.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most header fields accepted in one request.
pub const MAX_HEADERS: usize = 100;
/// Largest request body accepted: the largest body limit a tenant policy may set.
pub const MAX_BODY_BYTES: usize = syncgate::MAX_BODY_LIMIT;
/// How long a connection may sit idle, or take to send a request, before it is closed.
pub const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// Most connections served at once; further ones are answered 503 and closed.
pub const MAX_CONNECTIONS: usize = 512;

/// The limits that tests shorten; the others are constants.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Idle time between requests, time to send a head, and time to send a body.
    pub io_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            io_timeout: IO_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
        }
    }
}

/// A parsed request: method, target, headers and the complete body.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method as sent (`GET`, `POST`, …).
    pub method: String,
    /// The request target: path and query as in the request line.
    pub target: String,
    /// Header fields in arrival order (grouped by name), names in lowercase.
    pub headers: Vec<(String, String)>,
    /// The raw body (de-chunked when it was sent chunked).
    pub body: Vec<u8>,
    /// The peer's address.
    pub peer: SocketAddr,
}

impl Request {
    /// The first value of a header field, by case-insensitive name.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path part of the target (before `?`).
    #[must_use]
    pub fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map_or(self.target.as_str(), |(path, _)| path)
    }

    /// The query part of the target (after the first `?`), if any.
    #[must_use]
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, query)| query)
    }
}

/// A response to write back. `Content-Length` and `Connection` are set by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header fields.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// A response with a JSON body and `content-type`.
    #[must_use]
    pub fn json(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Self {
            status,
            headers: vec![
                ("content-type".into(), content_type.into()),
                ("cache-control".into(), "no-store".into()),
            ],
            body,
        }
    }

    /// Adds a header field.
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// What a handler does with a request.
#[derive(Debug)]
pub enum Reply {
    /// Write this response.
    Respond(Response),
    /// Close the connection without writing anything (fault injection).
    Drop,
}

/// Something that answers requests. Called from many blocking threads at once.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request.
    fn handle(&self, request: Request) -> Reply;
}

/// The service error that makes hyper close the connection without a response.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped without an answer")
    }
}

impl std::error::Error for Dropped {}

/// Serves `listener` until `shutdown` completes, then waits up to `drain` for the requests in
/// flight (idle keep-alive connections are closed at once).
///
/// # Errors
/// Only when the listener itself fails in a way that is not about one connection.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) -> io::Result<()> {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.io_timeout)
        .max_headers(MAX_HEADERS)
        .max_header_size(MAX_HEAD_BYTES)
        .keep_alive(true);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) if is_transient_accept_error(&e) => {
                    // Out of descriptors: give the open connections a moment to finish.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                Err(e) => return Err(e),
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            tokio::spawn(refuse_busy(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let handler = Arc::clone(&handler);
        let service = service_fn(move |request| {
            answer(Arc::clone(&handler), request, peer, limits.io_timeout)
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _permit = permit;
            let _ = connection.await;
        });
    }
    drop(listener);
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        log_line!(
            "origin: requests still in flight after {} s",
            drain.as_secs()
        );
    }
    Ok(())
}

fn is_transient_accept_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
            | io::ErrorKind::TimedOut
    ) || e
        .raw_os_error()
        .is_some_and(|code| code == 24 || code == 23) // EMFILE, ENFILE
}

async fn refuse_busy(mut stream: TcpStream) {
    let busy =
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(busy)).await;
    let _ = stream.shutdown().await;
}

/// One request: check framing and size, read the body, run the handler on a blocking thread.
async fn answer<H: Handler>(
    handler: Arc<H>,
    request: hyper::Request<Incoming>,
    peer: SocketAddr,
    io_timeout: Duration,
) -> Result<hyper::Response<Full<Bytes>>, Dropped> {
    let (parts, body) = request.into_parts();
    if !framing_is_plain(&parts.headers, parts.version) {
        return Ok(refusal(StatusCode::BAD_REQUEST));
    }
    // A declared length over the limit is refused before any of it is read (and before
    // `100 Continue`, which hyper sends only when the body is first read).
    if body.size_hint().lower() > u64::try_from(MAX_BODY_BYTES).unwrap_or(u64::MAX) {
        return Ok(refusal(StatusCode::PAYLOAD_TOO_LARGE));
    }
    let body = match tokio::time::timeout(io_timeout, Limited::new(body, MAX_BODY_BYTES).collect())
        .await
    {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.is::<LengthLimitError>() => {
            return Ok(refusal(StatusCode::PAYLOAD_TOO_LARGE));
        }
        // A broken chunked body, a peer gone, or a body too slow: close quietly.
        Ok(Err(_)) | Err(_) => return Err(Dropped),
    };
    let mut headers = Vec::with_capacity(parts.headers.len());
    for (name, value) in &parts.headers {
        let Ok(value) = std::str::from_utf8(value.as_bytes()) else {
            return Ok(refusal(StatusCode::BAD_REQUEST));
        };
        headers.push((name.as_str().to_string(), value.to_string()));
    }
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.to_string(), |pq| pq.as_str().to_string());
    let request = Request {
        method: parts.method.as_str().to_string(),
        target,
        headers,
        body: body.to_vec(),
        peer,
    };
    match tokio::task::spawn_blocking(move || handler.handle(request)).await {
        Ok(Reply::Respond(response)) => Ok(to_hyper(response)),
        Ok(Reply::Drop) | Err(_) => Err(Dropped),
    }
}

/// Whether the body framing is one hyper parsed unambiguously: no transfer coding, or exactly
/// `chunked` in HTTP/1.1. (Conflicting lengths never get here: hyper answers 400 itself.)
fn framing_is_plain(headers: &HeaderMap, version: Version) -> bool {
    let mut codings = headers
        .get_all(TRANSFER_ENCODING)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty());
    match (codings.next(), codings.next()) {
        (None, _) => true,
        (Some(only), None) => only.eq_ignore_ascii_case(b"chunked") && version == Version::HTTP_11,
        (Some(_), Some(_)) => false,
    }
}

/// An empty answer that closes the connection.
fn refusal(status: StatusCode) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

fn to_hyper(response: Response) -> hyper::Response<Full<Bytes>> {
    let mut out = hyper::Response::new(Full::new(Bytes::from(response.body)));
    *out.status_mut() =
        StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in &response.headers {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) else {
            log_line!("origin: dropped an invalid response header");
            continue;
        };
        if name != CONTENT_LENGTH && name != CONNECTION && name != TRANSFER_ENCODING {
            out.headers_mut().append(name, value);
        }
    }
    out
}
