//! The reference origin CRM for syncgate.
//!
//! The edge verifies senders and forwards accepted requests here, signed with its own RFC 9421
//! attestation. This crate is the other end: a small but real CRM origin that re-verifies that
//! attestation with the same core the edge runs ([`attest`]), re-validates and applies sync
//! payloads idempotently in SQLite ([`sync`], [`store`]), recomputes module state with
//! `syncgate::recompute_modules`, serves the app bootstrap, and stores the tenants' customer records
//! ([`customers`]). It is what `make dev` runs on `127.0.0.1:8788`, what the end-to-end tests
//! forward to, and what the docs point at.
//!
//! Layout: [`config`] reads the command line and the shared secret, [`http`] is the HTTP/1.1
//! server (hyper on Tokio), [`app`] the request pipeline, [`routes`] the route table, [`control`] the test-only
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
pub mod hooks;
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

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

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
    let rotating = secrets.previous.is_some();
    let mut verifier = EdgeVerifier::new(secrets.current);
    if let Some(previous) = secrets.previous {
        verifier = verifier.with_previous(previous);
    }
    let app = Arc::new(App::new(verifier, store, options.test_controls));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(http::MAX_CONNECTIONS)
        .thread_name("origin")
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot read the bound address: {e}"))?;
        let shutdown =
            stop_signal().map_err(|e| format!("cannot install the signal handler: {e}"))?;

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
        http::serve(
            listener,
            app,
            http::Limits::default(),
            shutdown,
            SHUTDOWN_DRAIN,
        )
        .await
        .map_err(|e| format!("the listener failed: {e}"))
    });
    // A stalled fault-injection request may still sleep on a blocking thread: do not wait for it.
    runtime.shutdown_timeout(Duration::from_millis(100));
    served?;
    log_line!("origin: stopped");
    Ok(())
}

/// Completes at the first SIGINT or SIGTERM; a second one while stopping exits at once.
/// The handlers are installed before this returns, so a signal right after the
/// `listening on` line is never lost.
fn stop_signal() -> std::io::Result<impl Future<Output = ()>> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        log_line!("origin: stopping");
        tokio::spawn(async move {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt.recv() => {}
            }
            log_line!("origin: second signal, exiting at once");
            std::process::exit(1);
        });
    })
}
