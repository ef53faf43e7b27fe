//! `syncgate`: the command line for the people around the edge.
//!
//! The platform engineer signs payloads (`sign`, `digest`, `keygen`) and checks them against a
//! tenant policy (`verify`); the operator administers an edge (`admin …`). Everything
//! cryptographic is the core crate's: this binary reads files, the clock and the OS CSPRNG,
//! calls the core, and prints. See `docs/cli.md`.
//!
//! Bad input of any kind is one line `error: …` on standard error and a non-zero exit status;
//! no message ever quotes a secret.

mod admin;
mod args;
mod failure;
mod io;
mod request_file;
mod sign;
mod verify;

use std::process::ExitCode;

use clap::Parser as _;
use clap::error::ErrorKind;
use syncgate::rfc9421::content_digest_value;
use syncgate::{Primitives as _, RustCrypto, Secret};

use crate::args::{Cli, Command, SignArgs};
use crate::failure::{Failure, Outcome, redact_secrets};
use crate::io::Input;

/// Length of a generated secret, in bytes.
const SECRET_BYTES: usize = 32;

/// A clap error as one line: its first paragraph, whitespace collapsed, secrets redacted.
fn usage_line(error: &clap::Error) -> String {
    let text = error.to_string();
    let first = text.split("\n\n").next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let line = first.split_whitespace().collect::<Vec<_>>().join(" ");
    format!(
        "error: {} (see syncgate --help)",
        redact_secrets(&line).trim_end_matches('.')
    )
}

fn sign_request(args: SignArgs) -> Outcome<sign::SignRequest> {
    let secret = Secret::from_whsec(args.secret.trim())
        .map_err(|reason| Failure::usage(format!("--secret: {reason}")))?;
    Ok(sign::SignRequest {
        url: args.url,
        method: args.method,
        kid: args.kid,
        secret,
        scheme: args.scheme.into(),
        nonce: args.nonce,
        created: args.created,
        content_type: args.content_type,
        headers: args.headers,
        components: args.components,
        expires_in: args.expires_in,
        tag: args.tag,
        label: args.label,
        curl: args.curl,
        body: Input::parse(&args.body),
    })
}

/// Runs a command; `Ok(false)` means it ran and the answer is "refused" (exit status 1).
fn run(command: Command) -> Outcome<bool> {
    match command {
        Command::Sign(args) => io::print(&sign::run(&sign_request(args)?)?)?,
        Command::Verify(args) => {
            let (json, ok) = verify::run(&verify::VerifyRequest {
                policy: args.policy,
                now: args.now,
                raw_scheme: args.raw_scheme,
                request: Input::parse(&args.request),
            })?;
            io::print_line(&json)?;
            return Ok(ok);
        }
        Command::Keygen => {
            let secret = Secret::from_bytes(io::random_bytes::<SECRET_BYTES>()?.to_vec())
                .map_err(Failure::io)?;
            io::print_line(&secret.expose_whsec())?;
        }
        Command::Digest(args) => {
            let body = Input::parse(&args.body).read()?;
            io::print_line(&content_digest_value(&RustCrypto.sha256(&body)))?;
        }
        Command::Admin(args) => io::print(&admin::run(&args)?)?,
    }
    Ok(true)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            return match error.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    // Help and version go to standard output; a closed pipe is not an error.
                    let _ignored = error.print();
                    ExitCode::SUCCESS
                }
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                | ErrorKind::MissingSubcommand => {
                    io::print_error_line("error: a subcommand is missing (see syncgate --help)");
                    ExitCode::from(2)
                }
                _ => {
                    io::print_error_line(&usage_line(&error));
                    ExitCode::from(2)
                }
            };
        }
    };
    match run(cli.command) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(failure) => {
            io::print_error_line(&redact_secrets(&failure.to_string()));
            failure.exit_code()
        }
    }
}
