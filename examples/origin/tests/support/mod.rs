//! Test support: start the real `syncgate-origin` binary on an ephemeral port, and talk to it
//! with a tiny blocking HTTP/1.1 client, signing requests the way the edge does.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use syncgate::Secret;
use syncgate::attest::{self, Claims, Outgoing, header};

pub const SECRET: &str = "whsec_c3luY2dhdGUtb3JpZ2luLXRlc3Qtc2VjcmV0LTAwMDE=";
pub const OTHER_SECRET: &str = "whsec_YS1kaWZmZXJlbnQtZWRnZS1zZWNyZXQtMDAwMDAwMDI=";
pub const THIRD_SECRET: &str = "whsec_dGhpcmQtc2VjcmV0LW5vYm9keS1zaGFyZXMtMDAz";

static COUNTER: AtomicU64 = AtomicU64::new(0);

pub fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

pub fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// A running origin; killed and its directory removed on drop.
pub struct Origin {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    pub addr: String,
    pub dir: PathBuf,
    pub secret: Secret,
}

pub struct Launch {
    pub test_controls: bool,
    pub env_secret: Option<&'static str>,
    /// `ORIGIN_SIGNING_SECRET_PREVIOUS` in the environment.
    pub env_previous: Option<&'static str>,
    pub dev_vars: Option<String>,
    pub dir: Option<PathBuf>,
}

impl Default for Launch {
    fn default() -> Self {
        Self {
            test_controls: true,
            env_secret: Some(SECRET),
            env_previous: None,
            dev_vars: None,
            dir: None,
        }
    }
}

pub fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(unique("syncgate-origin-test"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn command(dir: &Path, launch: &Launch) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_syncgate-origin"));
    cmd.arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--db")
        .arg(dir.join("db").join("origin.sqlite"))
        .env_remove("ORIGIN_SIGNING_SECRET")
        .env_remove("ORIGIN_SIGNING_SECRET_PREVIOUS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(if std::env::var_os("ORIGIN_TEST_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        });
    if launch.test_controls {
        cmd.arg("--test-controls");
    }
    if let Some(secret) = launch.env_secret {
        cmd.env("ORIGIN_SIGNING_SECRET", secret);
    }
    if let Some(secret) = launch.env_previous {
        cmd.env("ORIGIN_SIGNING_SECRET_PREVIOUS", secret);
    }
    if let Some(text) = &launch.dev_vars {
        let path = dir.join(".dev.vars");
        std::fs::write(&path, text).unwrap();
        cmd.arg("--dev-vars").arg(path);
    }
    cmd
}

impl Origin {
    pub fn start() -> Self {
        Self::launch(Launch::default())
    }

    pub fn launch(launch: Launch) -> Self {
        let dir = launch.dir.clone().unwrap_or_else(temp_dir);
        let mut child = command(&dir, &launch).spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        let secret_text = match &launch.dev_vars {
            Some(_) => SECRET,
            None => launch.env_secret.unwrap(),
        };
        Self {
            child,
            _stdout: stdout,
            addr,
            dir,
            secret: Secret::from_whsec(secret_text).unwrap(),
        }
    }

    /// Stops the process but keeps its directory (for restart tests).
    pub fn stop_keep_dir(mut self) -> PathBuf {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // An empty path tells `Drop` to leave the directory alone.
        std::mem::take(&mut self.dir)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn send(&self, req: &Req) -> Reply {
        self.try_send(req, Duration::from_secs(20)).unwrap()
    }

    pub fn try_send(&self, req: &Req, timeout: Duration) -> std::io::Result<Reply> {
        send(&self.addr, req, timeout)
    }

    /// Signs `req` as the edge would, with this origin's secret, now.
    pub fn sign(&self, req: Req) -> Req {
        self.sign_with(req, &self.secret.clone(), now())
    }

    pub fn sign_with(&self, req: Req, secret: &Secret, at: i64) -> Req {
        sign_as_edge(req, &self.url(""), secret, at)
    }

    pub fn get_json(&self, path: &str, tenant: &str) -> serde_json::Value {
        let reply = self.send(&self.sign(Req::edge("GET", path, tenant, &unique("req"), b"")));
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()
    }

    pub fn control(&self, body: &str) -> Reply {
        self.send(&Req::new("POST", "/__control", body.as_bytes()))
    }

    pub fn stats(&self) -> serde_json::Value {
        self.send(&Req::new("GET", "/__control/stats", b"")).json()
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn new(method: &str, path: &str, body: &[u8]) -> Self {
        Self {
            method: method.into(),
            path: path.into(),
            headers: Vec::new(),
            body: body.to_vec(),
        }
    }

    /// A request with the headers the edge adds (unsigned yet).
    pub fn edge(method: &str, path: &str, tenant: &str, request_id: &str, body: &[u8]) -> Self {
        let mut req = Self::new(method, path, body);
        req.header("x-request-id", request_id)
            .header("x-syncgate-tenant", tenant)
            .header("x-syncgate-instance", &format!("{tenant}-eu1"))
            .header("x-syncgate-key-id", "acme-2026-11");
        if method == "POST" {
            req.header("content-type", "application/json");
        }
        req
    }

    /// An edge sync request: `Idempotency-Key` = hex SHA-256 of the body, as the edge sends.
    pub fn sync(tenant: &str, request_id: &str, body: &[u8]) -> Self {
        let mut req = Self::edge(
            "POST",
            &format!("/origin/v1/{tenant}/sync"),
            tenant,
            request_id,
            body,
        );
        let key = sha256_hex(body);
        req.header("idempotency-key", &key);
        req
    }

    pub fn header(&mut self, name: &str, value: &str) -> &mut Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn set_header(&mut self, name: &str, value: &str) -> &mut Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.header(name, value)
    }
}

/// Signs `req` with the core's `attest::sign`, as the worker does: the contract headers already
/// on `req` (`Req::edge` puts them there) become the claims and are replaced by what `sign`
/// returns; any other header stays, unsigned. `base` is `http://ADDR`.
pub fn sign_as_edge(mut req: Req, base: &str, secret: &Secret, at: i64) -> Req {
    let contract = [
        header::REQUEST_ID,
        header::TENANT,
        header::INSTANCE,
        header::KEY_ID,
        header::IDEMPOTENCY_KEY,
        header::FIELDS,
        header::IF_MATCH,
        header::BLOCKED_GROUPS,
        header::CONTENT_TYPE,
    ];
    let (claimed, other): (Vec<_>, Vec<_>) = std::mem::take(&mut req.headers)
        .into_iter()
        .partition(|(n, _)| contract.contains(&n.to_ascii_lowercase().as_str()));
    let get = |name: &str| {
        claimed
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let claims = Claims {
        request_id: get(header::REQUEST_ID).unwrap_or_default(),
        tenant: get(header::TENANT).unwrap_or_default(),
        instance: get(header::INSTANCE),
        key_id: get(header::KEY_ID).unwrap_or_default(),
        idempotency_key: get(header::IDEMPOTENCY_KEY),
        fields: get(header::FIELDS),
        if_match: get(header::IF_MATCH),
        blocked_groups: get(header::BLOCKED_GROUPS),
    };
    let url = format!("{base}{}", req.path);
    let outgoing = Outgoing {
        method: &req.method,
        url: &url,
        content_type: get(header::CONTENT_TYPE),
        body: &req.body,
    };
    let added = attest::sign(&outgoing, &claims, secret, at).unwrap();
    req.headers = other;
    req.headers.extend(added);
    req
}

pub fn sha256_hex(body: &[u8]) -> String {
    use syncgate::{Primitives, RustCrypto, hex};
    hex(&RustCrypto.sha256(body))
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not json ({e}): {}", self.text()))
    }

    /// Asserts a problem answer with this status and code.
    pub fn assert_problem(&self, status: u16, code: &str) -> serde_json::Value {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        let json = self.json();
        assert_eq!(json["code"], code, "{json}");
        assert_eq!(json["status"], status);
        assert!(json["type"].is_string() && json["title"].is_string());
        assert!(json["requestId"].is_string());
        json
    }
}

/// Sends one request on a fresh connection (`Connection: close`) and reads the whole answer.
/// A connection closed without a status line is an error.
pub fn send(addr: &str, req: &Req, timeout: Duration) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut head = format!("{} {} HTTP/1.1\r\nhost: {addr}\r\n", req.method, req.path);
    for (name, value) in &req.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        req.body.len()
    ));
    stream.write_all(head.as_bytes())?;
    stream.write_all(&req.body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_reply(&raw).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("no http answer ({} bytes)", raw.len()),
        )
    })
}

/// Parses one response (`Content-Length` framed) from the start of `raw`; returns it and the
/// number of bytes it used.
pub fn parse_one(raw: &[u8]) -> Option<(Reply, usize)> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    let body_start = end + 4;
    let body = raw.get(body_start..body_start + len)?.to_vec();
    Some((
        Reply {
            status,
            headers,
            body,
        },
        body_start + len,
    ))
}

fn parse_reply(raw: &[u8]) -> Option<Reply> {
    parse_one(raw).map(|(reply, _)| reply)
}
