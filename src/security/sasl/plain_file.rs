//! PLAIN users from a weir file of salted, iterated hashes (weir-only; Kafka
//! has only the JAAS `user_<name>` options): the setting
//! `weir.sasl.plain.users.file` (per listener:
//! `listener.name.<listener>.weir.sasl.plain.users.file`) names the file. One
//! user a line, PBKDF2-HMAC-SHA-512 (RFC 8018) with a random salt:
//!
//! ```text
//! # comment
//! alice pbkdf2-sha512 4096 <salt, base64> <derived key, base64>
//! ```
//!
//! The file is re-read when it changes (checked every
//! `weir.ssl.reload.interval.ms`, as the TLS files are); a file that cannot be
//! read or parsed keeps the previous users and is logged. Entries are made with
//! `weir plain-user FILE USER` (the password on stdin, see [`cli`]); no
//! plaintext password is stored or logged.

use arc_swap::ArcSwap;
use sha2::Sha512;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// The hash scheme of a line.
pub const SCHEME: &str = "pbkdf2-sha512";
/// Iterations of a new entry (Kafka's SCRAM minimum, the cost of one PLAIN login).
pub const DEFAULT_ITERATIONS: u32 = 4096;
/// Bounds accepted in the file (a huge count would stall logins).
pub const MIN_ITERATIONS: u32 = 1000;
pub const MAX_ITERATIONS: u32 = 10_000_000;
const SALT_LEN: usize = 16;
const KEY_LEN: usize = 64;

/// One user's salted hash.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub key: Vec<u8>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Entry([hidden])")
    }
}

fn derive(password: &[u8], salt: &[u8], iterations: u32) -> [u8; KEY_LEN] {
    let mut out = [0u8; KEY_LEN];
    pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out);
    out
}

impl Entry {
    /// A new entry for `password` with a fresh random salt.
    pub fn new(password: &str, iterations: u32) -> Entry {
        let mut salt = vec![0u8; SALT_LEN];
        getrandom::fill(&mut salt).expect("OS random source");
        let key = derive(password.as_bytes(), &salt, iterations).to_vec();
        Entry {
            iterations,
            salt,
            key,
        }
    }

    /// Whether `password` matches (constant time in the derived key).
    pub fn verify(&self, password: &str) -> bool {
        let got = derive(password.as_bytes(), &self.salt, self.iterations);
        bool::from(got.as_slice().ct_eq(&self.key))
    }
}

fn b64(d: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(d)
}

fn unb64(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

/// A user name the file can hold (no whitespace, not empty, not a comment).
pub fn valid_user(user: &str) -> bool {
    !user.is_empty() && !user.starts_with('#') && !user.chars().any(char::is_whitespace)
}

/// Parse the file's text; an error names the line.
pub fn parse(text: &str) -> Result<BTreeMap<String, Entry>, String> {
    let mut users = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: &str| format!("line {}: {why}", i + 1);
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 5 {
            return Err(bad(&format!(
                "expected `<user> {SCHEME} <iterations> <salt> <hash>`, got {} fields",
                f.len()
            )));
        }
        if f[1] != SCHEME {
            return Err(bad(&format!(
                "unknown hash scheme {:?} (expected {SCHEME})",
                f[1]
            )));
        }
        let iterations: u32 = f[2]
            .parse()
            .ok()
            .filter(|n| (MIN_ITERATIONS..=MAX_ITERATIONS).contains(n))
            .ok_or_else(|| {
                bad(&format!(
                    "iterations must be {MIN_ITERATIONS}..={MAX_ITERATIONS}"
                ))
            })?;
        let salt = unb64(f[3])
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad("salt is not base64"))?;
        let key = unb64(f[4])
            .filter(|k| k.len() == KEY_LEN)
            .ok_or_else(|| bad(&format!("hash is not {KEY_LEN} bytes of base64")))?;
        users.insert(
            f[0].to_string(),
            Entry {
                iterations,
                salt,
                key,
            },
        );
    }
    Ok(users)
}

/// The line of one entry.
pub fn line(user: &str, e: &Entry) -> String {
    format!(
        "{user} {SCHEME} {} {} {}",
        e.iterations,
        b64(&e.salt),
        b64(&e.key)
    )
}

/// A listener's users file, reloaded when it changes.
pub struct UsersFile {
    pub path: PathBuf,
    listener: String,
    users: ArcSwap<BTreeMap<String, Entry>>,
    /// The bytes last loaded (a change of content, not only of mtime, reloads).
    last: parking_lot::Mutex<Vec<u8>>,
    /// Changed bytes read once: loaded only when the next read gives them again, so a
    /// file being written in place (read half-way, or empty) is never loaded.
    pending: parking_lot::Mutex<Option<Vec<u8>>>,
    /// Hashed for an unknown user, so that it costs what a known one does.
    dummy: Entry,
}

impl std::fmt::Debug for UsersFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "UsersFile({}, {} users)",
            self.path.display(),
            self.users.load().len()
        )
    }
}

impl UsersFile {
    /// Load `path` (at start-up: an error stops the broker).
    pub fn load(path: &Path, listener: &str) -> Result<UsersFile, String> {
        let bytes = std::fs::read(path)
            .map_err(|e| format!("weir.sasl.plain.users.file {}: {e}", path.display()))?;
        let users = parse(&String::from_utf8_lossy(&bytes))
            .map_err(|e| format!("weir.sasl.plain.users.file {}: {e}", path.display()))?;
        Ok(UsersFile {
            path: path.to_path_buf(),
            listener: listener.to_string(),
            users: ArcSwap::from_pointee(users),
            last: parking_lot::Mutex::new(bytes),
            pending: parking_lot::Mutex::new(None),
            dummy: Entry::new("", DEFAULT_ITERATIONS),
        })
    }

    pub fn len(&self) -> usize {
        self.users.load().len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.load().is_empty()
    }

    /// `None`: no such user (after the same work as a check).
    pub fn verify(&self, user: &str, password: &str) -> Option<bool> {
        let users = self.users.load();
        match users.get(user) {
            Some(e) => Some(e.verify(password)),
            None => {
                let _ = self.dummy.verify(password);
                None
            }
        }
    }

    /// Re-read the file; load it when its content changed and two reads in a row
    /// agree on the new content: `Ok(true)` when reloaded; on error the previous
    /// users stay.
    pub fn reload_if_changed(&self) -> Result<bool, String> {
        let bytes = std::fs::read(&self.path).map_err(|e| e.to_string())?;
        let mut last = self.last.lock();
        let mut pending = self.pending.lock();
        if *last == bytes {
            *pending = None;
            return Ok(false);
        }
        if pending.as_ref() != Some(&bytes) {
            *pending = Some(bytes);
            return Ok(false);
        }
        *pending = None;
        let users = parse(&String::from_utf8_lossy(&bytes))?;
        self.users.store(Arc::new(users));
        *last = bytes;
        Ok(true)
    }

    /// Check the file every `interval`; runs until the broker shuts down.
    pub async fn watch(self: Arc<Self>, interval: Duration) {
        loop {
            tokio::time::sleep(interval).await;
            let me = self.clone();
            match tokio::task::spawn_blocking(move || me.reload_if_changed()).await {
                Ok(Ok(true)) => tracing::info!(
                    "listener {}: PLAIN users file {} changed, reloaded ({} users)",
                    self.listener,
                    self.path.display(),
                    self.len()
                ),
                Ok(Ok(false)) | Err(_) => {}
                Ok(Err(e)) => tracing::warn!(
                    "listener {}: PLAIN users file {} changed but cannot be loaded, keeping the previous users: {e}",
                    self.listener,
                    self.path.display()
                ),
            }
        }
    }
}

/// `weir plain-user FILE USER [--iterations N] [--delete]`: add or replace
/// (or delete) USER in FILE, the password read from the first line of stdin.
/// The file is rewritten atomically (a temporary file renamed over it), so a
/// running broker never reads half a file. Returns the exit code.
pub fn cli(args: &[String]) -> i32 {
    const USAGE: &str = "usage: weir plain-user FILE USER [--iterations N] [--delete]\n  \
        adds or replaces USER in the PLAIN users file FILE (weir.sasl.plain.users.file);\n  \
        the password is the first line of stdin, e.g. `printf '%s\\n' \"$PW\" | weir plain-user users.txt alice`";
    let mut pos = Vec::new();
    let mut iterations = DEFAULT_ITERATIONS;
    let mut delete = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return 0;
            }
            "--delete" => delete = true,
            "--iterations" => match it.next().and_then(|n| n.parse().ok()) {
                Some(n) if (MIN_ITERATIONS..=MAX_ITERATIONS).contains(&n) => iterations = n,
                _ => {
                    eprintln!(
                        "weir plain-user: --iterations takes {MIN_ITERATIONS}..={MAX_ITERATIONS}"
                    );
                    return 2;
                }
            },
            _ => pos.push(a.clone()),
        }
    }
    let [file, user] = pos.as_slice() else {
        eprintln!("{USAGE}");
        return 2;
    };
    if !valid_user(user) {
        eprintln!("weir plain-user: a user name must be non-empty, without whitespace, not starting with #");
        return 2;
    }
    let path = Path::new(file);
    let old = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            eprintln!("weir plain-user: {file}: {e}");
            return 1;
        }
    };
    if let Err(e) = parse(&old) {
        eprintln!("weir plain-user: {file}: {e}");
        return 1;
    }
    let new_line = if delete {
        None
    } else {
        let mut pw = String::new();
        if let Err(e) = std::io::stdin().read_line(&mut pw) {
            eprintln!("weir plain-user: reading the password from stdin: {e}");
            return 1;
        }
        let pw = pw.trim_end_matches(['\n', '\r']);
        if pw.is_empty() {
            eprintln!("weir plain-user: empty password (give it on stdin)");
            return 2;
        }
        Some(line(user, &Entry::new(pw, iterations)))
    };
    let mut out = String::new();
    let mut found = false;
    for l in old.lines() {
        let is_user = l.split_whitespace().next() == Some(user.as_str());
        if is_user {
            found = true;
            if let Some(n) = &new_line {
                out.push_str(n);
                out.push('\n');
            }
        } else {
            out.push_str(l);
            out.push('\n');
        }
    }
    if !found {
        match &new_line {
            Some(n) => {
                if old.is_empty() {
                    out.push_str(&format!(
                        "# weir PLAIN users: <user> {SCHEME} <iterations> <salt> <hash>\n"
                    ));
                }
                out.push_str(n);
                out.push('\n');
            }
            None => {
                eprintln!("weir plain-user: {user} is not in {file}");
                return 1;
            }
        }
    }
    if let Err(e) = replace_durably(path, out.as_bytes()) {
        eprintln!("weir plain-user: writing {file}: {e}");
        return 1;
    }
    0
}

/// Replace `path` with `data` so that a power cut leaves the old file or the
/// new one, whole: write a temp file, fsync it, rename it over, fsync the
/// directory.
fn replace_durably(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp-weir");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_verify() {
        let e = Entry::new("alice-secret", 1000);
        let text = format!("# c\n\n{}\n", line("alice", &e));
        let users = parse(&text).unwrap();
        let got = &users["alice"];
        assert_eq!(got, &e);
        assert!(got.verify("alice-secret"));
        assert!(!got.verify("alice-secreT"));
        assert!(!text.contains("alice-secret"));
    }

    #[test]
    fn known_pbkdf2_sha512_vector() {
        // RFC 8018 PBKDF2-HMAC-SHA-512, "password"/"salt", 1 iteration (first bytes).
        let k = derive(b"password", b"salt", 1);
        assert_eq!(&k[..4], &[0x86, 0x7f, 0x70, 0xcf]);
    }

    #[test]
    fn a_change_loads_only_when_two_reads_agree() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        let alice = line("alice", &Entry::new("a-secret", 1000)) + "\n";
        std::fs::write(&path, &alice).unwrap();
        let f = UsersFile::load(&path, "L").unwrap();
        assert_eq!(f.len(), 1);
        // Caught half-way through an in-place rewrite: empty, then the new content.
        std::fs::write(&path, "").unwrap();
        assert_eq!(f.reload_if_changed(), Ok(false));
        let both = format!("{alice}{}\n", line("bob", &Entry::new("b-secret", 1000)));
        std::fs::write(&path, &both).unwrap();
        assert_eq!(f.reload_if_changed(), Ok(false));
        assert_eq!(f.len(), 1, "the empty read was never loaded");
        assert_eq!(f.reload_if_changed(), Ok(true));
        assert_eq!(f.len(), 2);
        assert_eq!(f.verify("bob", "b-secret"), Some(true));
        assert_eq!(f.reload_if_changed(), Ok(false));
    }

    #[test]
    fn bad_lines_are_refused_with_their_number() {
        assert!(parse("alice pbkdf2-sha512 4096 c2FsdA==")
            .unwrap_err()
            .starts_with("line 1:"));
        let e = line("bob", &Entry::new("x", 1000)).replace(SCHEME, "md5");
        assert!(parse(&format!("\n{e}"))
            .unwrap_err()
            .contains("line 2: unknown hash scheme"));
        let e = line("bob", &Entry::new("x", 1000)).replace(" 1000 ", " 10 ");
        assert!(parse(&e).unwrap_err().contains("iterations"));
    }
}
