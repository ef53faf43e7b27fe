//! A small HTTP/1.1 server on `std::net`, with `httparse` for the request head.
//!
//! Why not an HTTP server crate: the origin's fault injection must be able to *drop* a
//! connection without answering (the edge has to see a connection error, not a 500), which needs
//! the socket itself. `tiny_http`, the obvious small choice, answers 500 when a request is dropped
//! unanswered and keeps keep-alive connections open, so it cannot do that. What is left is small:
//! one thread per connection, keep-alive, `Content-Length` and chunked request bodies,
//! `Expect: 100-continue`, and bounded heads and bodies. Parsing the request line and headers —
//! the part where hand-written servers go wrong — is left to `httparse`.
//!
//! Request smuggling defences: a request with both `Content-Length` and `Transfer-Encoding`, with
//! conflicting `Content-Length`s, or with a transfer coding other than `chunked` is refused with
//! 400 and the connection closed.

use crate::log_line;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Largest request head (request line and headers) accepted, in bytes.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most header fields accepted in one request.
pub const MAX_HEADERS: usize = 100;
/// Largest request body accepted: the largest body limit a tenant policy may set.
pub const MAX_BODY_BYTES: usize = syncgate::policy::MAX_BODY_LIMIT;
/// How long a connection may sit idle, or stall mid-request, before it is closed.
pub const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// Most connections served at once; further ones are answered 503 and closed.
pub const MAX_CONNECTIONS: usize = 512;

/// A parsed request: method, target, headers and the complete body.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method as sent (`GET`, `POST`, …).
    pub method: String,
    /// The request target: path and query as in the request line.
    pub target: String,
    /// Header fields in arrival order, names as sent.
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

/// A response to write back. `Content-Length` and `Connection` are added when it is written.
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

/// Something that answers requests. Called from many connection threads at once.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request.
    fn handle(&self, request: Request) -> Reply;
}

/// Serves `listener` until `stop` is set; the accept loop notices it at the next connection
/// (the caller wakes it by connecting once). Waits up to `drain` for open connections to finish.
///
/// # Errors
/// Only when the listener itself fails in a way that is not about one connection.
pub fn serve<H: Handler>(
    listener: &TcpListener,
    handler: &Arc<H>,
    stop: &AtomicBool,
    drain: Duration,
) -> io::Result<()> {
    let open = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let stream = match stream {
            Ok(stream) => stream,
            // A connection that died before accept finished is no reason to stop serving.
            Err(e) if is_transient_accept_error(&e) => continue,
            Err(e) => return Err(e),
        };
        if open.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            open.fetch_sub(1, Ordering::SeqCst);
            refuse_busy(stream);
            continue;
        }
        let handler = Arc::clone(handler);
        let guard = OpenGuard(Arc::clone(&open));
        let spawned = thread::Builder::new()
            .name("origin-conn".into())
            .spawn(move || {
                let _guard = guard;
                serve_connection(stream, handler.as_ref());
            });
        if let Err(e) = spawned {
            log_line!("origin: cannot start a connection thread: {e}");
        }
    }
    let deadline = Instant::now() + drain;
    while open.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
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

/// Decrements the open-connection count when a connection thread ends, however it ends.
struct OpenGuard(Arc<AtomicUsize>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn refuse_busy(mut stream: TcpStream) {
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let _ = stream.write_all(
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    );
    let _ = stream.shutdown(Shutdown::Both);
}

/// Why a request could not be read.
enum ReadFailure {
    /// The peer closed or timed out between requests: close quietly.
    Closed,
    /// The request is unacceptable: answer with this status and close.
    Refuse(u16),
}

impl From<io::Error> for ReadFailure {
    fn from(_: io::Error) -> Self {
        Self::Closed
    }
}

/// One connection: a socket and the bytes read but not yet consumed.
struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
    peer: SocketAddr,
}

fn serve_connection<H: Handler>(stream: TcpStream, handler: &H) {
    let Ok(peer) = stream.peer_addr() else {
        return;
    };
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let mut conn = Connection {
        stream,
        buffer: Vec::with_capacity(8192),
        peer,
    };
    loop {
        let (request, keep_alive) = match conn.read_request() {
            Ok(read) => read,
            Err(ReadFailure::Closed) => break,
            Err(ReadFailure::Refuse(status)) => {
                let response = Response {
                    status,
                    headers: Vec::new(),
                    body: Vec::new(),
                };
                let _ = conn.write_response(&response, false);
                break;
            }
        };
        match handler.handle(request) {
            Reply::Respond(response) => {
                if conn.write_response(&response, keep_alive).is_err() || !keep_alive {
                    break;
                }
            }
            Reply::Drop => break,
        }
    }
    let _ = conn.stream.shutdown(Shutdown::Both);
}

impl Connection {
    /// Reads more bytes into the buffer; `Closed` on end of stream or timeout.
    fn fill(&mut self) -> Result<(), ReadFailure> {
        let mut chunk = [0_u8; 8192];
        let n = self.stream.read(&mut chunk)?;
        if n == 0 {
            return Err(ReadFailure::Closed);
        }
        self.buffer
            .extend_from_slice(chunk.get(..n).unwrap_or_default());
        Ok(())
    }

    /// Reads one request; also says whether the connection may carry another one.
    fn read_request(&mut self) -> Result<(Request, bool), ReadFailure> {
        let (head, head_len) = loop {
            if !self.buffer.is_empty() {
                if let Some(parsed) = parse_head(&self.buffer)? {
                    break parsed;
                }
                if self.buffer.len() > MAX_HEAD_BYTES {
                    return Err(ReadFailure::Refuse(431));
                }
            }
            self.fill()?;
        };
        self.buffer.drain(..head_len);
        let framing = head.framing()?;
        if head.expects_continue() && !matches!(framing, Framing::Length(0)) {
            self.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        let body = match framing {
            Framing::Length(len) => self.read_exact_body(len)?,
            Framing::Chunked => self.read_chunked_body()?,
        };
        let keep_alive = head.keep_alive();
        Ok((
            Request {
                method: head.method,
                target: head.target,
                headers: head.headers,
                body,
                peer: self.peer,
            },
            keep_alive,
        ))
    }

    fn read_exact_body(&mut self, len: usize) -> Result<Vec<u8>, ReadFailure> {
        while self.buffer.len() < len {
            self.fill()?;
        }
        Ok(self.buffer.drain(..len).collect())
    }

    /// Reads a line ending in CRLF (or LF), without the terminator.
    fn read_line(&mut self, max: usize) -> Result<Vec<u8>, ReadFailure> {
        loop {
            if let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buffer.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            if self.buffer.len() > max {
                return Err(ReadFailure::Refuse(400));
            }
            self.fill()?;
        }
    }

    /// Decodes a chunked body (RFC 9112 §7.1); chunk extensions and trailers are ignored.
    fn read_chunked_body(&mut self) -> Result<Vec<u8>, ReadFailure> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line(1024)?;
            let size_text = line.split(|&b| b == b';').next().unwrap_or_default();
            let size = std::str::from_utf8(size_text)
                .ok()
                .map(str::trim)
                .filter(|s| !s.is_empty() && s.len() <= 16)
                .and_then(|s| usize::from_str_radix(s, 16).ok())
                .ok_or(ReadFailure::Refuse(400))?;
            if size == 0 {
                // Trailer section: lines until an empty one.
                let mut trailer_bytes = 0_usize;
                loop {
                    let trailer = self.read_line(MAX_HEAD_BYTES)?;
                    if trailer.is_empty() {
                        return Ok(body);
                    }
                    trailer_bytes = trailer_bytes.saturating_add(trailer.len());
                    if trailer_bytes > MAX_HEAD_BYTES {
                        return Err(ReadFailure::Refuse(431));
                    }
                }
            }
            if body.len().saturating_add(size) > MAX_BODY_BYTES {
                return Err(ReadFailure::Refuse(413));
            }
            let chunk = self.read_exact_body(size)?;
            body.extend_from_slice(&chunk);
            if !self.read_line(2)?.is_empty() {
                return Err(ReadFailure::Refuse(400));
            }
        }
    }

    fn write_response(&mut self, response: &Response, keep_alive: bool) -> io::Result<()> {
        let mut out = Vec::with_capacity(256 + response.body.len());
        let status = response.status;
        out.extend_from_slice(format!("HTTP/1.1 {status} {}\r\n", reason(status)).as_bytes());
        for (name, value) in &response.headers {
            if name.eq_ignore_ascii_case("content-length")
                || name.eq_ignore_ascii_case("connection")
            {
                continue;
            }
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        out.extend_from_slice(format!("content-length: {}\r\n", response.body.len()).as_bytes());
        if !keep_alive {
            out.extend_from_slice(b"connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&response.body);
        self.stream.write_all(&out)?;
        self.stream.flush()
    }
}

/// How the body of a request is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(usize),
    Chunked,
}

/// A parsed request head.
struct Head {
    method: String,
    target: String,
    minor_version: u8,
    headers: Vec<(String, String)>,
}

/// Parses the head at the start of `buffer`: `None` while incomplete.
fn parse_head(buffer: &[u8]) -> Result<Option<(Head, usize)>, ReadFailure> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut slots);
    let len = match parsed.parse(buffer) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(ReadFailure::Refuse(431)),
        Err(_) => return Err(ReadFailure::Refuse(400)),
    };
    let (Some(method), Some(target), Some(minor_version)) =
        (parsed.method, parsed.path, parsed.version)
    else {
        return Err(ReadFailure::Refuse(400));
    };
    let mut headers = Vec::with_capacity(parsed.headers.len());
    for header in parsed.headers.iter() {
        let value = std::str::from_utf8(header.value).map_err(|_| ReadFailure::Refuse(400))?;
        headers.push((header.name.to_string(), value.trim().to_string()));
    }
    Ok(Some((
        Head {
            method: method.to_string(),
            target: target.to_string(),
            minor_version,
            headers,
        },
        len,
    )))
}

impl Head {
    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.values(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    fn framing(&self) -> Result<Framing, ReadFailure> {
        let encodings: Vec<&str> = self
            .values("transfer-encoding")
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        let lengths: Vec<&str> = self
            .values("content-length")
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        match (encodings.as_slice(), lengths.as_slice()) {
            ([], []) => Ok(Framing::Length(0)),
            ([], [first, rest @ ..]) => {
                if rest.iter().any(|l| l != first) || first.is_empty() || first.len() > 19 {
                    return Err(ReadFailure::Refuse(400));
                }
                if !first.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ReadFailure::Refuse(400));
                }
                let len: usize = first.parse().map_err(|_| ReadFailure::Refuse(413))?;
                if len > MAX_BODY_BYTES {
                    return Err(ReadFailure::Refuse(413));
                }
                Ok(Framing::Length(len))
            }
            ([only], []) if only.eq_ignore_ascii_case("chunked") => Ok(Framing::Chunked),
            ([_], []) | ([_, _, ..], []) => Err(ReadFailure::Refuse(501)),
            _ => Err(ReadFailure::Refuse(400)),
        }
    }

    fn expects_continue(&self) -> bool {
        self.has_token("expect", "100-continue")
    }

    fn keep_alive(&self) -> bool {
        if self.minor_version == 0 {
            self.has_token("connection", "keep-alive")
        } else {
            !self.has_token("connection", "close")
        }
    }
}

/// The reason phrase for the statuses the origin uses.
fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &str) -> Result<Head, u16> {
        match parse_head(raw.as_bytes()) {
            Ok(Some((head, _))) => Ok(head),
            Ok(None) => Err(0),
            Err(ReadFailure::Refuse(s)) => Err(s),
            Err(ReadFailure::Closed) => Err(1),
        }
    }

    fn framing(raw: &str) -> Result<Framing, u16> {
        head(raw)?.framing().map_err(|e| match e {
            ReadFailure::Refuse(s) => s,
            ReadFailure::Closed => 1,
        })
    }

    #[test]
    fn framing_rules() {
        assert_eq!(framing("GET / HTTP/1.1\r\n\r\n"), Ok(Framing::Length(0)));
        assert_eq!(
            framing("POST / HTTP/1.1\r\ncontent-length: 12\r\n\r\n"),
            Ok(Framing::Length(12))
        );
        assert_eq!(
            framing("POST / HTTP/1.1\r\ncontent-length: 3\r\ncontent-length: 3\r\n\r\n"),
            Ok(Framing::Length(3))
        );
        assert_eq!(
            framing("POST / HTTP/1.1\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\n"),
            Err(400)
        );
        assert_eq!(
            framing("POST / HTTP/1.1\r\ncontent-length: -1\r\n\r\n"),
            Err(400)
        );
        assert_eq!(
            framing("POST / HTTP/1.1\r\ncontent-length: 99999999999999\r\n\r\n"),
            Err(413)
        );
        assert_eq!(
            framing("POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n"),
            Ok(Framing::Chunked)
        );
        assert_eq!(
            framing("POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n"),
            Err(400)
        );
        assert_eq!(
            framing("POST / HTTP/1.1\r\ntransfer-encoding: gzip, chunked\r\n\r\n"),
            Err(501)
        );
    }

    #[test]
    fn keep_alive_rules() {
        assert!(
            head("GET / HTTP/1.1\r\n\r\n")
                .map(|h| h.keep_alive())
                .unwrap()
        );
        assert!(
            !head("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n")
                .map(|h| h.keep_alive())
                .unwrap()
        );
        assert!(
            !head("GET / HTTP/1.0\r\n\r\n")
                .map(|h| h.keep_alive())
                .unwrap()
        );
        assert_eq!(head("GET / HTTP/1.1\r\nHost: x\r\n").err(), Some(0));
        assert_eq!(head("G@T / HTTP/1.1\r\n\r\n").err(), Some(400));
    }
}
