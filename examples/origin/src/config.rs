//! Command line and secrets.
//!
//! The edge→origin secret is shared with the worker, so the origin reads it from the same place
//! wrangler does in development: the `.dev.vars` file (`--dev-vars PATH`, dotenv `KEY=value`
//! lines). A value in that file wins over the process environment, so `make dev` cannot end up
//! with an origin and a worker that disagree because of a stale exported variable. Without the
//! file (or without the key in it) the environment variable `ORIGIN_SIGNING_SECRET` is used.
//!
//! During a secret rotation the origin also accepts `ORIGIN_SIGNING_SECRET_PREVIOUS` (see the
//! README for the steps). It is read from the same place the current secret came from — the file
//! when the file holds the current secret, the environment otherwise — so a stale exported
//! variable cannot keep an old secret accepted behind the file's back. An empty value means none.
//!
//! Error messages name the variable and the file, never the secret's value.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use syncgate::Secret;

/// The environment variable (and `.dev.vars` key) holding the edge→origin secret.
pub const SECRET_VAR: &str = "ORIGIN_SIGNING_SECRET";
/// The environment variable (and `.dev.vars` key) holding the previous secret, still accepted
/// while the edge switches over.
pub const PREVIOUS_SECRET_VAR: &str = "ORIGIN_SIGNING_SECRET_PREVIOUS";
/// Default listen address: the `make dev` contract.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8788";
/// Default database path, relative to the working directory.
pub const DEFAULT_DB: &str = ".origin/origin.sqlite";

/// Usage text for `--help` and argument errors.
pub const USAGE: &str = "\
usage: syncgate-origin [--listen ADDR] [--db PATH] [--dev-vars PATH] [--test-controls]

  --listen ADDR      address to serve on (default 127.0.0.1:8788; port 0 picks a free one)
  --db PATH          SQLite database (default ./.origin/origin.sqlite; ':memory:' for none)
  --dev-vars PATH    dotenv file to read ORIGIN_SIGNING_SECRET from (wins over the environment)
  --test-controls    enable POST /__control and GET /__control/stats (tests only)

The edge signs every request with ORIGIN_SIGNING_SECRET (a whsec_ secret); the origin rejects
anything else. While rotating it, ORIGIN_SIGNING_SECRET_PREVIOUS (same file or environment) is
accepted too. The first line on stdout is `listening on http://ADDR`.";

/// What the origin was started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// SQLite database path (or `:memory:`).
    pub db: PathBuf,
    /// dotenv file to read the secret from.
    pub dev_vars: Option<PathBuf>,
    /// Whether the fault-injection routes are enabled.
    pub test_controls: bool,
}

/// The result of reading the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the origin.
    Run(Options),
    /// Print [`USAGE`] and exit successfully.
    Help,
}

impl Options {
    /// Parses the arguments after the program name. Accepts `--flag value` and `--flag=value`.
    ///
    /// # Errors
    /// A message naming the offending argument.
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
        let mut options = Self {
            listen: DEFAULT_LISTEN
                .parse()
                .map_err(|_| "the default listen address is invalid".to_string())?,
            db: PathBuf::from(DEFAULT_DB),
            dev_vars: None,
            test_controls: false,
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag.to_string(), Some(value)),
                _ => (arg.clone(), None),
            };
            let mut value = |name: &str| -> Result<String, String> {
                match inline {
                    Some(v) => Ok(v.to_string()),
                    None => args.next().ok_or_else(|| format!("{name} needs a value")),
                }
            };
            match flag.as_str() {
                "--listen" => {
                    let text = value("--listen")?;
                    options.listen = text
                        .parse()
                        .map_err(|_| format!("--listen: {text} is not an ip:port address"))?;
                }
                "--db" => options.db = PathBuf::from(value("--db")?),
                "--dev-vars" => options.dev_vars = Some(PathBuf::from(value("--dev-vars")?)),
                "--test-controls" if inline.is_none() => options.test_controls = true,
                "-h" | "--help" => return Ok(Command::Help),
                _ => return Err(format!("unknown argument {arg}")),
            }
        }
        Ok(Command::Run(options))
    }

    /// Finds and parses the edge→origin secrets: the current one, and the previous one when a
    /// rotation is in progress (see the module docs for where they are looked up).
    ///
    /// # Errors
    /// When the file cannot be read, or the current secret is missing, or either is not a valid
    /// `whsec_` secret.
    pub fn signing_secrets(&self) -> Result<Secrets, String> {
        let from_file = match &self.dev_vars {
            Some(path) => read_dev_var(path, SECRET_VAR)?.map(|text| (text, path)),
            None => None,
        };
        let (text, previous) = match from_file {
            Some((text, path)) => (text, read_dev_var(path, PREVIOUS_SECRET_VAR)?),
            None => (
                std::env::var(SECRET_VAR).map_err(|_| {
                    format!(
                        "{SECRET_VAR} is not set: export it or pass --dev-vars .dev.vars \
                         (the edge signs with the same secret)"
                    )
                })?,
                std::env::var(PREVIOUS_SECRET_VAR).ok(),
            ),
        };
        let current =
            Secret::from_whsec(text.trim()).map_err(|reason| format!("{SECRET_VAR}: {reason}"))?;
        let previous = match previous.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(
                Secret::from_whsec(text)
                    .map_err(|reason| format!("{PREVIOUS_SECRET_VAR}: {reason}"))?,
            ),
        };
        Ok(Secrets { current, previous })
    }
}

/// The secrets the origin accepts edge signatures with (`Debug` shows no value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secrets {
    /// `ORIGIN_SIGNING_SECRET`: what the edge signs with once a rotation is done.
    pub current: Secret,
    /// `ORIGIN_SIGNING_SECRET_PREVIOUS`: still accepted while the edge switches over.
    pub previous: Option<Secret>,
}

/// Reads one key from a dotenv file: `KEY=value` lines, `#` comments, optional `export `
/// prefix, optional single or double quotes around the value. The last assignment wins.
///
/// # Errors
/// When the file cannot be read.
pub fn read_dev_var(path: &Path, key: &str) -> Result<Option<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(parse_dev_var(&text, key))
}

fn parse_dev_var(text: &str, key: &str) -> Option<String> {
    let mut found = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        if name.trim() != key {
            continue;
        }
        let value = value.trim();
        let unquoted = ['"', '\'']
            .iter()
            .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
            .unwrap_or(value);
        found = Some(unquoted.to_string());
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn parses_flags() {
        let Command::Run(o) = Options::parse(args(&[])).unwrap() else {
            panic!("expected run")
        };
        assert_eq!(o.listen.to_string(), "127.0.0.1:8788");
        assert_eq!(o.db, PathBuf::from(".origin/origin.sqlite"));
        assert!(!o.test_controls);
        let Command::Run(o) = Options::parse(args(&[
            "--listen=127.0.0.1:0",
            "--db",
            ":memory:",
            "--dev-vars",
            ".dev.vars",
            "--test-controls",
        ]))
        .unwrap() else {
            panic!("expected run")
        };
        assert_eq!(o.listen.port(), 0);
        assert_eq!(o.db, PathBuf::from(":memory:"));
        assert_eq!(o.dev_vars, Some(PathBuf::from(".dev.vars")));
        assert!(o.test_controls);
        assert_eq!(Options::parse(args(&["--help"])), Ok(Command::Help));
        assert!(Options::parse(args(&["--listen"])).is_err());
        assert!(Options::parse(args(&["--listen", "nope"])).is_err());
        assert!(Options::parse(args(&["--bogus"])).is_err());
    }

    #[test]
    fn dotenv_lines() {
        let text = "# comment\nADMIN_TOKEN=abc\nexport ORIGIN_SIGNING_SECRET=\"whsec_x\"\n\
                    OTHER='y'\nORIGIN_SIGNING_SECRET = 'whsec_z' \n";
        assert_eq!(
            parse_dev_var(text, "ORIGIN_SIGNING_SECRET").as_deref(),
            Some("whsec_z")
        );
        assert_eq!(parse_dev_var(text, "ADMIN_TOKEN").as_deref(), Some("abc"));
        assert_eq!(parse_dev_var(text, "MISSING"), None);
    }
}
