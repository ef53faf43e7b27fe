//! The few things the core leaves to its caller: files, stdin, stdout, the clock and randomness.

use std::io::{Read, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::failure::{Failure, Outcome};

/// Where a command reads its input from: a file, or standard input for `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Standard input.
    Stdin,
    /// A file path.
    File(String),
}

impl Input {
    /// `-` is standard input, anything else a path.
    pub fn parse(arg: &str) -> Self {
        if arg == "-" {
            Self::Stdin
        } else {
            Self::File(arg.to_string())
        }
    }

    /// Reads the whole input.
    ///
    /// # Errors
    /// A usage failure naming the file when it cannot be read.
    pub fn read(&self) -> Outcome<Vec<u8>> {
        match self {
            Self::Stdin => {
                let mut bytes = Vec::new();
                std::io::stdin()
                    .lock()
                    .read_to_end(&mut bytes)
                    .map_err(|e| Failure::usage(format!("cannot read standard input: {e}")))?;
                Ok(bytes)
            }
            Self::File(path) => read_file(path),
        }
    }
}

/// Reads a file.
///
/// # Errors
/// A usage failure naming the file when it cannot be read.
pub fn read_file(path: &str) -> Outcome<Vec<u8>> {
    std::fs::read(path).map_err(|e| Failure::usage(format!("cannot read {path}: {e}")))
}

/// Reads a UTF-8 text file.
///
/// # Errors
/// A usage failure naming the file when it cannot be read or is not UTF-8.
pub fn read_text_file(path: &str) -> Outcome<String> {
    String::from_utf8(read_file(path)?)
        .map_err(|_| Failure::usage(format!("{path} is not utf-8 text")))
}

/// The current time, Unix seconds.
///
/// # Errors
/// When the system clock is before 1970.
pub fn now() -> Outcome<i64> {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| Failure::io("the system clock is before 1970"))?;
    i64::try_from(elapsed.as_secs()).map_err(|_| Failure::io("the system clock is out of range"))
}

/// `N` bytes from the operating system's CSPRNG.
///
/// # Errors
/// When the operating system has no randomness to give.
pub fn random_bytes<const N: usize>() -> Outcome<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| Failure::io(format!("no randomness from the operating system: {e}")))?;
    Ok(bytes)
}

/// Writes `text` to standard output.
///
/// # Errors
/// When standard output is closed or full.
pub fn print(text: &str) -> Outcome {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::io(format!("cannot write to standard output: {e}")))
}

/// Writes a line to standard output.
///
/// # Errors
/// When standard output is closed or full.
pub fn print_line(text: &str) -> Outcome {
    print(&format!("{text}\n"))
}

/// Writes a line to standard error; a closed standard error is ignored.
pub fn print_error_line(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ignored = writeln!(err, "{text}");
}
