//! The reference origin CRM for syncgate.
//!
//! The edge verifies senders and forwards accepted requests here, signed with its own RFC 9421
//! attestation. This crate is the other end: a small but real CRM origin that re-verifies that
//! attestation with the same core the edge runs ([`attest`]), re-validates and applies sync
//! payloads idempotently in SQLite ([`sync`], [`store`]), recomputes module state with
//! `syncgate::modules`, serves the app bootstrap, and stores the tenants' customer records
//! ([`customers`]). It is what `make dev` runs on `127.0.0.1:8788`, what the end-to-end tests
//! forward to, and what the docs point at.
//!
//! Layout: [`config`] reads the command line and the shared secret, [`http`] is the HTTP/1.1
//! server, [`app`] the request pipeline, [`routes`] the route table, [`control`] the test-only
//! fault injection, [`clock`] the wall clock. See `README.md` next to `Cargo.toml` for the HTTP
//! contract.

#![forbid(unsafe_code)]

pub mod app;
pub mod attest;
pub mod clock;
pub mod config;
pub mod control;
pub mod customers;
pub mod error;
pub mod http;
pub mod routes;
pub mod store;
pub mod sync;

/// Writes one line to stderr, ignoring failure: `eprintln!` panics when stderr is a closed pipe
/// (a parent that stopped reading), and a log line must never take a request or shutdown down.
macro_rules! log_line {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}
pub(crate) use log_line;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};

use crate::app::App;
use crate::attest::EdgeVerifier;
use crate::config::Options;
use crate::store::Store;

/// How long shutdown waits for requests in flight.
pub const SHUTDOWN_DRAIN: Duration = Duration::from_secs(5);

/// Runs the origin until SIGINT or SIGTERM.
///
/// Prints `listening on http://ADDR` as the first line on stdout once the socket is bound (with
/// the real port when `--listen` asked for port 0), so scripts and tests can wait for it.
///
/// # Errors
/// A message for the operator: missing or invalid secret, database or socket failure.
pub fn run(options: &Options) -> Result<(), String> {
    let secrets = options.signing_secrets()?;
    let store = Store::open(&options.db).map_err(|e| match e {
        error::OriginError::Storage(detail) => {
            format!(
                "cannot open the database {}: {detail}",
                options.db.display()
            )
        }
        other => format!("cannot open the database: {}", other.code()),
    })?;
    let listener = TcpListener::bind(options.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    let rotating = secrets.previous.is_some();
    let mut verifier = EdgeVerifier::new(secrets.current);
    if let Some(previous) = secrets.previous {
        verifier = verifier.with_previous(previous);
    }
    let app = Arc::new(App::new(verifier, store, options.test_controls));
    let stop = Arc::new(AtomicBool::new(false));
    watch_signals(&stop, addr)?;

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://{addr}")
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))?;
    drop(stdout);
    log_line!(
        "origin: database {}, test controls {}",
        options.db.display(),
        if options.test_controls { "on" } else { "off" }
    );
    if rotating {
        log_line!(
            "origin: accepting ORIGIN_SIGNING_SECRET and ORIGIN_SIGNING_SECRET_PREVIOUS \
             (a secret rotation is in progress)"
        );
    }

    http::serve(&listener, &app, &stop, SHUTDOWN_DRAIN)
        .map_err(|e| format!("the listener failed: {e}"))?;
    log_line!("origin: stopped");
    Ok(())
}

/// On SIGINT or SIGTERM: set `stop` and wake the accept loop by connecting to it. A second
/// signal while stopping exits at once.
fn watch_signals(stop: &Arc<AtomicBool>, addr: SocketAddr) -> Result<(), String> {
    let (mut wake_read, wake_write) =
        UnixStream::pair().map_err(|e| format!("cannot create the signal pipe: {e}"))?;
    for signal in [SIGINT, SIGTERM] {
        let registered =
            signal_hook::flag::register_conditional_shutdown(signal, 1, Arc::clone(stop))
                .and_then(|_| signal_hook::flag::register(signal, Arc::clone(stop)))
                .and_then(|_| {
                    let pipe = wake_write.try_clone()?;
                    signal_hook::low_level::pipe::register(signal, pipe)
                });
        registered.map_err(|e| format!("cannot install the signal handler: {e}"))?;
    }
    let stop = Arc::clone(stop);
    thread::Builder::new()
        .name("origin-signals".into())
        .spawn(move || {
            let mut byte = [0_u8; 1];
            if wake_read.read(&mut byte).is_ok() {
                stop.store(true, Ordering::SeqCst);
                log_line!("origin: stopping");
                let wake = match addr.ip() {
                    IpAddr::V4(ip) if ip.is_unspecified() => {
                        SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port()))
                    }
                    IpAddr::V6(ip) if ip.is_unspecified() => {
                        SocketAddr::from((Ipv6Addr::LOCALHOST, addr.port()))
                    }
                    _ => addr,
                };
                let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
            }
        })
        .map_err(|e| format!("cannot start the signal thread: {e}"))?;
    Ok(())
}
