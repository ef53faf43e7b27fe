//! The HTTP server's guarantees, with a raw TCP client against `http::serve` and an echo
//! handler: the drop fault, head and body limits, framing refusals, keep-alive,
//! `Expect: 100-continue`, chunked bodies, timeouts, the connection cap and graceful shutdown.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use syncgate_origin::http::{self, Handler, Limits, Reply, Request, Response};

/// Answers `/drop` with [`Reply::Drop`]; anything else with 200, the body echoed and the
/// target in `x-target`.
struct Echo;

impl Handler for Echo {
    fn handle(&self, request: Request) -> Reply {
        if request.path() == "/drop" {
            return Reply::Drop;
        }
        if request.path() == "/slow" {
            thread::sleep(Duration::from_millis(400));
        }
        Reply::Respond(Response {
            status: 200,
            headers: vec![("x-target".into(), request.target.clone())],
            body: request.body,
        })
    }
}

struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Server {
    fn start(limits: Limits) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = thread::spawn(move || {
            runtime
                .block_on(http::serve(
                    listener,
                    Arc::new(Echo),
                    limits,
                    async {
                        let _ = stopped.await;
                    },
                    Duration::from_secs(2),
                ))
                .unwrap();
        });
        Self {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn fast() -> Self {
        Self::start(Limits {
            io_timeout: Duration::from_millis(500),
            max_connections: 64,
        })
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
    }

    /// Sends `wire` on a new connection and reads until the server closes it.
    fn exchange(&self, wire: &[u8]) -> Vec<u8> {
        let mut stream = self.connect();
        stream.write_all(wire).unwrap();
        read_all(&mut stream)
    }

    fn stop(mut self) -> Duration {
        let started = Instant::now();
        let _ = self.stop.take().unwrap().send(());
        self.thread.take().unwrap().join().unwrap();
        started.elapsed()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads until end of stream; a reset counts as the end.
fn read_all(stream: &mut TcpStream) -> Vec<u8> {
    let mut raw = Vec::new();
    let mut chunk = [0_u8; 8192];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return raw,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return raw,
            Err(e) => panic!("read failed after {} bytes: {e}", raw.len()),
        }
    }
}

/// Reads one response (head and `content-length` body) from `stream`.
fn read_response(stream: &mut TcpStream) -> (u16, String, Vec<u8>) {
    let mut raw = Vec::new();
    let mut byte = [0_u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        assert_eq!(
            stream.read(&mut byte).unwrap(),
            1,
            "closed mid-head: {raw:?}"
        );
        raw.push(byte[0]);
    }
    let head = String::from_utf8(raw).unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let len = header(&head, "content-length").map_or(0, |v| v.parse().unwrap());
    let mut body = vec![0_u8; len];
    stream.read_exact(&mut body).unwrap();
    (status, head, body)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn status_of(raw: &[u8]) -> u16 {
    let text = String::from_utf8_lossy(raw);
    text.split(' ').nth(1).unwrap_or("0").parse().unwrap_or(0)
}

fn count_responses(raw: &[u8]) -> usize {
    raw.windows(9).filter(|w| w == b"HTTP/1.1 ").count()
}

#[test]
fn drop_closes_the_connection_without_a_single_byte() {
    let server = Server::fast();
    let raw = server.exchange(b"GET /drop HTTP/1.1\r\nhost: x\r\n\r\n");
    assert!(raw.is_empty(), "got {:?}", String::from_utf8_lossy(&raw));
    // With a body, and after an answered request on the same connection.
    let raw = server.exchange(
        b"GET /ok HTTP/1.1\r\nhost: x\r\n\r\n\
          POST /drop HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\nabc",
    );
    assert_eq!(
        count_responses(&raw),
        1,
        "{}",
        String::from_utf8_lossy(&raw)
    );
    assert_eq!(status_of(&raw), 200);
    assert!(
        raw.ends_with(b"\r\n\r\n"),
        "nothing written for the dropped request"
    );
}

#[test]
fn request_heads_are_bounded() {
    let server = Server::fast();
    let big = "a".repeat(http::MAX_HEAD_BYTES);
    let raw =
        server.exchange(format!("GET / HTTP/1.1\r\nhost: x\r\nx-big: {big}\r\n\r\n").as_bytes());
    assert_eq!(status_of(&raw), 431);

    let fields = |n: usize| {
        let mut head = String::from("GET / HTTP/1.1\r\n");
        for i in 1..n {
            head.push_str(&format!("x-{i}: v\r\n"));
        }
        head.push_str("host: x\r\nconnection: close\r\n\r\n");
        head
    };
    // host + connection + 98 = 100 fields: accepted; one more is refused.
    assert_eq!(
        status_of(&server.exchange(fields(http::MAX_HEADERS - 1).as_bytes())),
        200
    );
    assert_eq!(
        status_of(&server.exchange(fields(http::MAX_HEADERS).as_bytes())),
        431
    );
}

#[test]
fn a_too_large_body_is_refused_without_being_read() {
    let server = Server::fast();
    // A declared length over the limit: answered at once although almost nothing was sent, and
    // no `100 Continue` was offered.
    let mut stream = server.connect();
    write!(
        stream,
        "POST / HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: {}\r\n\r\nabc",
        http::MAX_BODY_BYTES + 1
    )
    .unwrap();
    let started = Instant::now();
    let (status, head, _) = read_response(&mut stream);
    assert_eq!(status, 413, "{head}");
    assert!(
        started.elapsed() < Duration::from_millis(450),
        "answered before the io timeout"
    );
    assert_eq!(header(&head, "connection"), Some("close"));
    assert!(
        read_all(&mut stream).is_empty(),
        "connection closed after the refusal"
    );

    // A chunked body that grows over the limit is refused once it does.
    let mut stream = server.connect();
    stream
        .write_all(b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n")
        .unwrap();
    let chunk = vec![b'x'; 1 << 20];
    let mut refused = None;
    for _ in 0..(http::MAX_BODY_BYTES >> 20) + 2 {
        let sent = stream
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .and_then(|()| stream.write_all(&chunk))
            .and_then(|()| stream.write_all(b"\r\n"));
        if sent.is_err() {
            break;
        }
    }
    let raw = read_all(&mut stream);
    if status_of(&raw) == 413 {
        refused = Some(raw);
    }
    assert!(
        refused.is_some(),
        "a chunked body over the limit is answered 413"
    );
}

#[test]
fn ambiguous_framing_is_refused_and_the_connection_closed() {
    let server = Server::fast();
    let next = "GET /next HTTP/1.1\r\nhost: x\r\n\r\n";
    for (wire, status) in [
        (
            "POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd",
            400,
        ),
        (
            "POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 3, 4\r\n\r\nabcd",
            400,
        ),
        (
            "POST / HTTP/1.1\r\nhost: x\r\ncontent-length: -1\r\n\r\n",
            400,
        ),
        (
            "POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: gzip\r\n\r\n",
            400,
        ),
        (
            "POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
            400,
        ),
        (
            "POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
        ),
        (
            "POST / HTTP/1.0\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
        ),
    ] {
        let raw = server.exchange(format!("{wire}{next}").as_bytes());
        let text = String::from_utf8_lossy(&raw);
        assert_eq!(status_of(&raw), status, "{wire:?} → {text}");
        assert_eq!(
            count_responses(&raw),
            1,
            "{wire:?}: closed after the refusal: {text}"
        );
    }
    // Equal repeated lengths are one length.
    let raw = server.exchange(
        b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\ncontent-length: 3\r\nconnection: close\r\n\r\nabc",
    );
    assert_eq!(status_of(&raw), 200);
    assert!(raw.ends_with(b"abc"));
    // Both framings: Transfer-Encoding wins (the body is `abc`, not `3\r\na`), and the
    // connection is closed after the answer, so the bytes behind it are never a request.
    let raw = server.exchange(
        format!("POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n{next}").as_bytes(),
    );
    let text = String::from_utf8_lossy(&raw);
    assert_eq!(status_of(&raw), 200, "{text}");
    assert!(raw.ends_with(b"abc"), "{text}");
    assert_eq!(count_responses(&raw), 1, "{text}");
}

#[test]
fn keep_alive_serves_several_requests_and_honours_close() {
    let server = Server::fast();
    let mut stream = server.connect();
    for path in ["/one", "/two", "/three"] {
        write!(
            stream,
            "POST {path}?q=1 HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\nhi"
        )
        .unwrap();
        let (status, head, body) = read_response(&mut stream);
        assert_eq!((status, body.as_slice()), (200, b"hi".as_slice()));
        assert_eq!(
            header(&head, "x-target"),
            Some(format!("{path}?q=1").as_str())
        );
        assert_eq!(header(&head, "connection"), None, "kept open: {head}");
    }
    stream
        .write_all(b"GET /last HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .unwrap();
    let (status, head, _) = read_response(&mut stream);
    assert_eq!(status, 200);
    assert_eq!(header(&head, "connection"), Some("close"));
    assert!(read_all(&mut stream).is_empty());
    // HTTP/1.0 closes unless asked to keep alive.
    let raw = server.exchange(b"GET /old HTTP/1.0\r\n\r\n");
    assert_eq!(count_responses(&raw), 0);
    assert!(
        raw.starts_with(b"HTTP/1.0 200") || raw.starts_with(b"HTTP/1.1 200"),
        "{raw:?}"
    );
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    let server = Server::fast();
    let mut stream = server.connect();
    stream
        .write_all(
            b"POST / HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 5\r\n\r\n",
        )
        .unwrap();
    let mut interim = [0_u8; 25];
    stream.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(b"hello").unwrap();
    let (status, _, body) = read_response(&mut stream);
    assert_eq!((status, body.as_slice()), (200, b"hello".as_slice()));
}

#[test]
fn chunked_bodies_with_extensions_and_trailers_are_decoded() {
    let server = Server::fast();
    let raw = server.exchange(
        b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n\
          5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nx-trailer: t\r\n\r\n",
    );
    let text = String::from_utf8_lossy(&raw);
    assert_eq!(status_of(&raw), 200, "{text}");
    assert!(raw.ends_with(b"hello world"), "{text}");
    // A broken chunk size gets no answer to the request and closes the connection.
    let raw = server.exchange(
        b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    );
    assert_ne!(status_of(&raw), 200, "{}", String::from_utf8_lossy(&raw));
}

#[test]
fn idle_and_slow_connections_are_closed() {
    let server = Server::fast();
    for wire in [
        "",                                                            // idle from the start
        "GET / HTTP/1.1\r\nhost: x\r\n",                               // a head that never ends
        "POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\nabc", // a body that never ends
    ] {
        let mut stream = server.connect();
        stream.write_all(wire.as_bytes()).unwrap();
        let started = Instant::now();
        let raw = read_all(&mut stream);
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(400) && waited < Duration::from_secs(5),
            "{wire:?}: closed after {waited:?}"
        );
        assert_ne!(status_of(&raw), 200, "{wire:?}");
    }
    // Idle after an answered request (keep-alive) counts too.
    let mut stream = server.connect();
    stream
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut stream).0, 200);
    let started = Instant::now();
    assert!(read_all(&mut stream).is_empty());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn connections_over_the_cap_are_answered_503() {
    let server = Server::start(Limits {
        io_timeout: Duration::from_secs(5),
        max_connections: 2,
    });
    let mut held: Vec<TcpStream> = (0..2).map(|_| server.connect()).collect();
    for stream in &mut held {
        stream
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            .unwrap();
        assert_eq!(read_response(stream).0, 200);
    }
    let raw = server.exchange(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n");
    assert_eq!(status_of(&raw), 503, "{}", String::from_utf8_lossy(&raw));
    drop(held);
    // Once they are gone, new connections are served again.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let raw = server.exchange(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
        if status_of(&raw) == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the cap frees up");
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn shutdown_finishes_requests_in_flight_and_closes_idle_connections() {
    let server = Server::fast();
    let mut idle = server.connect();
    idle.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut idle).0, 200);
    let mut busy = server.connect();
    busy.write_all(b"GET /slow HTTP/1.1\r\nhost: x\r\n\r\n")
        .unwrap();
    thread::sleep(Duration::from_millis(100));
    let addr = server.addr;
    let took = server.stop();
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(
        read_response(&mut busy).0,
        200,
        "the request in flight is answered"
    );
    assert!(read_all(&mut idle).is_empty());
    assert!(TcpStream::connect(addr).is_err(), "the listener is closed");
}
