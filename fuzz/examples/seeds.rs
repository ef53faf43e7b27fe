//! Writes the seed corpora, `fuzz/corpus/<target>/seed-<hash>`, from the published vectors
//! (`tests/vectors/public.json`), the JSON fixtures of the Rust tests (every raw string literal in
//! `tests/*.rs` and `src/*.rs` that looks like JSON) and requests signed here with the fixed
//! policy's keys. Run by `make fuzz-seeds`; existing files are kept.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};
use syncgate::{Headers, HttpRequest, Scheme, SigningOptions, sign_request};
use syncgate_fuzz::{NOW, SignSpec, TextRequest, key, rfc9421_fixture};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The JSON inside every `json!({…})` / `json!([…])` in `text` that is plain JSON (no Rust
/// expressions in it).
fn json_macros(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices("json!(") {
        let start = at + "json!(".len();
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        for (i, c) in text[start..].char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if in_string => escaped = true,
                '"' => in_string = !in_string,
                '{' | '[' if !in_string => depth += 1,
                '}' | ']' if !in_string => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        let candidate = &text[start..=start + i];
                        if serde_json::from_str::<Value>(candidate).is_ok() {
                            out.push(candidate.to_string());
                        }
                        break;
                    }
                }
                _ if depth == 0 && !c.is_whitespace() => break,
                _ => {}
            }
        }
    }
    out
}

/// Every `r#"…"#` (any number of `#`, optionally `br`) literal in `text`.
fn raw_strings(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'r'
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'b')
        {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j] == b'#' {
                j += 1;
            }
            let hashes = j - i - 1;
            if hashes > 0 && j < bytes.len() && bytes[j] == b'"' {
                let close = format!("\"{}", "#".repeat(hashes));
                if let Some(end) = text[j + 1..].find(&close) {
                    out.push(text[j + 1..j + 1 + end].to_string());
                    i = j + 1 + end + close.len();
                    continue;
                }
            }
        }
        i += 1;
    }
    out
}

struct Corpus {
    root: PathBuf,
    written: usize,
}

impl Corpus {
    fn add(&mut self, target: &str, data: &[u8]) -> Result<()> {
        let dir = self.root.join(target);
        fs::create_dir_all(&dir)?;
        let hash: String = Sha256::digest(data)
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        let path = dir.join(format!("seed-{hash}"));
        if !path.exists() {
            fs::write(path, data)?;
            self.written += 1;
        }
        Ok(())
    }
}

fn sync_request(body: &[u8], headers: &[(&str, &str)]) -> Result<HttpRequest> {
    let headers: Headers = headers.iter().copied().collect();
    Ok(HttpRequest::new(
        "POST",
        "https://edge.example/v1/acme-eu1/sync",
        headers,
        body.to_vec(),
    )?)
}

/// The `.rs` files in `dir`, and in its subfolders when `recurse`, in a stable order.
fn rust_files(dir: &Path, recurse: bool) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if recurse {
                files.extend(rust_files(&path, true)?);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn main() -> Result<()> {
    let fuzz_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo = fuzz_dir.parent().ok_or("no repository root")?;
    let mut corpus = Corpus {
        root: fuzz_dir.join("corpus"),
        written: 0,
    };

    // JSON fixtures of the tests, deduplicated.
    let mut fixtures = BTreeSet::new();
    // `tests/*.rs` and every file under `src/` (grouped by concern into subfolders).
    let mut sources = rust_files(&repo.join("tests"), false)?;
    sources.extend(rust_files(&repo.join("src"), true)?);
    for path in sources {
        let source = fs::read_to_string(&path)?;
        for s in raw_strings(&source).into_iter().chain(json_macros(&source)) {
            if s.trim_start().starts_with(['{', '[']) {
                fixtures.insert(s);
            }
        }
    }
    // Sections of the fixtures wrapped into payloads of every type they fit.
    let objects: Vec<Value> = fixtures
        .iter()
        .filter_map(|f| serde_json::from_str(f).ok())
        .collect();
    let mut sections: Vec<(&str, Value)> = Vec::new();
    for object in &objects {
        for name in ["features", "branding", "smtp"] {
            let wrapped =
                serde_json::json!({"type": name, "tenant": "acme", "version": 1, name: object});
            if syncgate::payload::SyncPayload::parse(wrapped.to_string().as_bytes()).is_ok() {
                fixtures.insert(serde_json::to_string_pretty(&wrapped)?);
                sections.push((name, object.clone()));
            }
        }
    }
    for pair in sections.windows(2) {
        if let [(a, x), (b, y)] = pair
            && a != b
        {
            let combined = serde_json::json!({"type": "combined", "tenant": "acme", "version": 2, *a: x, *b: y});
            fixtures.insert(combined.to_string());
        }
    }
    let vectors: Vec<Value> =
        serde_json::from_str(&fs::read_to_string(repo.join("tests/vectors/public.json"))?)?;
    let payloads: Vec<&String> = fixtures
        .iter()
        .filter(|f| syncgate::payload::SyncPayload::parse(f.as_bytes()).is_ok())
        .collect();
    println!(
        "{} JSON fixtures ({} valid sync payloads), {} vectors",
        fixtures.len(),
        payloads.len(),
        vectors.len()
    );

    for f in &fixtures {
        for target in ["sync_payload", "customer_write", "tenant_policy"] {
            corpus.add(target, f.as_bytes())?;
        }
        if let Ok(v) = serde_json::from_str::<Value>(f)
            && let Some(features) = v.get("features")
        {
            let mut seed = vec![0];
            seed.extend(serde_json::to_vec(features)?);
            corpus.add("modules", &seed)?;
        }
    }
    for seed in [
        &b"\x01\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09"[..],
        b"\x01\xff\xfe\xfd",
    ] {
        corpus.add("modules", seed)?;
    }

    // rfc9421_fields: selector byte + field value.
    let fixture = rfc9421_fixture().ok_or("the rfc9421 fixture does not sign")?;
    let mut fields = vec![
        (
            0u8,
            fixture
                .headers
                .get("signature-input")
                .unwrap_or_default()
                .to_string(),
        ),
        (
            1,
            fixture
                .headers
                .get("signature")
                .unwrap_or_default()
                .to_string(),
        ),
        (
            2,
            fixture
                .headers
                .get("content-digest")
                .unwrap_or_default()
                .to_string(),
        ),
    ];
    for v in &vectors {
        let text = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        match text("kind").as_str() {
            "rfc9421-b25" => {
                fields.push((0, text("signature_input")));
                let label = text("signature_input");
                let label = label.split('=').next().unwrap_or("sig1");
                fields.push((1, format!("{label}=:{}:", text("expected"))));
            }
            "rfc9530" => fields.push((2, text("expected"))),
            _ => {}
        }
    }
    for (selector, value) in fields {
        let mut seed = vec![selector];
        seed.extend(value.as_bytes());
        corpus.add("rfc9421_fields", &seed)?;
    }

    // webhook_headers: id \n timestamp \n signature \n body, from the vectors (stale at NOW)
    // and signed here at NOW with each key.
    for v in &vectors {
        if v.get("kind").and_then(Value::as_str) == Some("standard-webhooks-v1") {
            let seed = format!(
                "{}\n{}\n{}\n{}",
                v["msg_id"].as_str().unwrap_or_default(),
                v["timestamp"],
                v["expected"].as_str().unwrap_or_default(),
                v["payload"].as_str().unwrap_or_default()
            );
            corpus.add("webhook_headers", seed.as_bytes())?;
        }
    }
    let body = payloads.first().map_or(&b"{}"[..], |p| p.as_bytes());
    for k in 0..4 {
        let (_, secret) = key(k);
        let signed = syncgate::webhooks::sign("msg_1", NOW, body, &secret, &syncgate::RustCrypto)?;
        let seed = format!("{}\n{}\n{}\n", signed[0].1, signed[1].1, signed[2].1);
        let mut seed = seed.into_bytes();
        seed.extend(body);
        corpus.add("webhook_headers", &seed)?;
        let mut svix = b"s".to_vec();
        svix.extend(&seed);
        corpus.add("webhook_headers", &svix)?;
    }

    // verify_request: text requests, signed by the harness (`:sign:`) and pre-signed here.
    for (i, body) in payloads.iter().take(6).enumerate() {
        for scheme in [Scheme::Rfc9421, Scheme::StandardWebhooks] {
            for k in 0..4 {
                let text = TextRequest {
                    method: "POST".into(),
                    url: "https://edge.example/v1/acme-eu1/sync".into(),
                    headers: vec![("content-type".into(), "application/json".into())],
                    after: if k == 0 {
                        vec![("x-unsigned".into(), "1".into())]
                    } else {
                        vec![]
                    },
                    sign: Some(SignSpec {
                        scheme,
                        key: k,
                        nonce: format!("n-{i}-{k}"),
                        created_offset: [0, -10, 200, -400][k],
                        expires_in: (k == 1).then_some(60),
                        cover: if k == 0 {
                            vec!["content-type".into(), "@authority".into()]
                        } else {
                            vec![]
                        },
                        label: None,
                        tag: None,
                    }),
                    body: body.as_bytes().to_vec(),
                };
                corpus.add("verify_request", &text.to_bytes())?;
                // The same request with its signature headers written out.
                let mut request =
                    sync_request(body.as_bytes(), &[("content-type", "application/json")])?;
                let (kid, secret) = key(k);
                let mut options = SigningOptions::new(scheme, NOW, format!("p-{i}-{k}"));
                options.extra_components = vec!["content-type".into()];
                let mut literal = text.clone();
                literal.sign = None;
                for (name, value) in sign_request(&request, kid, &secret, &options)? {
                    request.headers.append(&name, &value);
                    literal.headers.push((name, value));
                }
                corpus.add("verify_request", &literal.to_bytes())?;
            }
        }
    }
    println!(
        "wrote {} new seed files under {}",
        corpus.written,
        corpus.root.display()
    );
    Ok(())
}
