//! Responses as comparable data: a response's pretty `Debug` text flattened into
//! `path = value` leaves (`topics[0].partitions[1].error_code = 3`), normalised where
//! the two brokers legitimately differ, then compared leaf by leaf; and the
//! explanations file that names the differences that are known and why.

use std::collections::HashMap;

/// One recorded request/response of a sequence.
pub struct Step {
    /// `3 Produce v11` (position in the sequence, api, version).
    pub label: String,
    /// The flattened response, in order.
    pub leaves: Vec<(String, String)>,
}

/// Flatten `{:#?}` output (one field per line, nested by indentation) into leaves.
/// Struct type names are dropped from paths, list items are `[i]`, newtype and `Some`
/// wrappers stay in the value (`BrokerId(1)`, `Some("x")`).
pub fn flatten(debug: &str) -> Vec<(String, String)> {
    struct Frame {
        path: String,
        kind: char,
        wrapper: String,
        idx: usize,
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut out = Vec::new();
    for raw in debug.lines() {
        let line = raw.trim();
        let body = line.strip_suffix(',').unwrap_or(line);
        if matches!(body, "}" | "]" | ")") {
            stack.pop();
            continue;
        }
        let (name, rest) = split_name(body);
        // This line's path and the wrappers of the enclosing `(` frames.
        let (path, wrappers) = match stack.last_mut() {
            None => (String::new(), Vec::new()),
            Some(parent) => {
                let seg = match parent.kind {
                    '[' => {
                        parent.idx += 1;
                        format!("[{}]", parent.idx - 1)
                    }
                    '(' => String::new(),
                    _ => name.unwrap_or("?").to_string(),
                };
                let path = join(&parent.path, &seg);
                let wrappers: Vec<String> = stack
                    .iter()
                    .rev()
                    .take_while(|f| f.kind == '(')
                    .map(|f| f.wrapper.clone())
                    .collect();
                (path, wrappers)
            }
        };
        let opener = rest.chars().last().filter(|c| matches!(c, '{' | '[' | '('));
        match opener {
            Some(kind) => stack.push(Frame {
                path,
                kind,
                wrapper: rest[..rest.len() - 1].trim().to_string(),
                idx: 0,
            }),
            None => {
                let mut value = rest.to_string();
                for w in wrappers {
                    value = format!("{w}({value})");
                }
                out.push((path, value));
            }
        }
    }
    out
}

fn split_name(body: &str) -> (Option<&str>, &str) {
    if let Some(i) = body.find(": ") {
        let name = &body[..i];
        if !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return (Some(name), &body[i + 2..]);
        }
    }
    (None, body)
}

fn join(path: &str, seg: &str) -> String {
    if seg.is_empty() {
        path.to_string()
    } else if path.is_empty() || seg.starts_with('[') {
        format!("{path}{seg}")
    } else {
        format!("{path}.{seg}")
    }
}

/// The last named segment of a path (`topics[0].partitions[2]` -> `partitions`).
fn field(path: &str) -> &str {
    let last = path.rsplit('.').next().unwrap_or(path);
    last.split('[').next().unwrap_or(last)
}

fn inner_int(v: &str) -> Option<i64> {
    let v = v.trim_start_matches("Some(").trim_end_matches(')');
    let v = v.rsplit('(').next().unwrap_or(v);
    v.parse().ok()
}

/// Per sequence and broker: values that are generated (member ids, producer ids) become
/// `<member 1>`, `<pid 1>`, ... in order of first appearance, so equality between them
/// still counts but the values themselves do not.
#[derive(Default)]
pub struct Aliases {
    seen: HashMap<(String, String), usize>,
    counts: HashMap<String, usize>,
}

impl Aliases {
    fn alias(&mut self, kind: &str, value: &str) -> String {
        let key = (kind.to_string(), value.to_string());
        if let Some(n) = self.seen.get(&key) {
            return format!("<{kind} {n}>");
        }
        let c = self.counts.entry(kind.to_string()).or_default();
        *c += 1;
        let n = *c;
        self.seen.insert(key, n);
        format!("<{kind} {n}>")
    }
}

/// Replace what legitimately differs between two brokers (see the module doc of main.rs).
pub fn normalise(leaves: &mut [(String, String)], nonce: &str, aliases: &mut Aliases) {
    for (path, value) in leaves.iter_mut() {
        if value.contains(nonce) {
            *value = value.replace(nonce, "N");
        }
        let f = field(path);
        let v = value.as_str();
        let new = match f {
            "throttle_time_ms" => Some("<throttle>".to_string()),
            "log_dir" => Some("<dir>".to_string()),
            "total_bytes" | "usable_bytes" => match inner_int(v) {
                Some(n) if n >= 0 => Some("<bytes>".to_string()),
                _ => None,
            },
            "cluster_id" if v != "None" => Some("<cluster id>".to_string()),
            "host" => Some("<host>".to_string()),
            "port" => Some("<port>".to_string()),
            "node_id"
            | "leader_id"
            | "controller_id"
            | "broker_id"
            | "replica_nodes"
            | "isr_nodes"
            | "offline_replicas"
            | "eligible_leader_replicas"
            | "last_known_elr"
            | "replicas"
            | "coordinator_id"
            | "leader"
                if f != "leader" || v.starts_with("BrokerId") =>
            {
                match inner_int(v) {
                    Some(n) if n >= 0 => Some("<node>".to_string()),
                    _ => None,
                }
            }
            "topic_id" if !v.starts_with("00000000-0000-0000-0000-000000000000") => {
                Some("<topic id>".to_string())
            }
            "log_append_time_ms"
            | "transaction_start_time_ms"
            | "last_timestamp"
            | "current_txn_start_offset_time" => match inner_int(v) {
                Some(n) if n > 0 => Some("<time>".to_string()),
                _ => None,
            },
            "member_id" | "leader" | "assigned_to" => {
                if v == "\"\"" || v == "None" || v == "Some(\"\")" {
                    None
                } else {
                    Some(aliases.alias("member", v))
                }
            }
            "producer_id" | "last_producer_id" => match inner_int(v) {
                Some(n) if n >= 0 => Some(aliases.alias("pid", v)),
                _ => None,
            },
            _ => None,
        };
        if let Some(n) = new {
            *value = n;
        }
    }
}

/// One differing leaf: `label: path`, weir's value, Kafka's value.
pub struct Difference {
    pub at: String,
    pub weir: String,
    pub kafka: String,
}

pub fn compare(weir: &[Step], kafka: &[Step]) -> Vec<Difference> {
    let mut out = Vec::new();
    let absent = "<absent>".to_string();
    for i in 0..weir.len().max(kafka.len()) {
        let (w, k) = (weir.get(i), kafka.get(i));
        let label = w.or(k).map(|s| s.label.clone()).unwrap_or_default();
        if w.map(|s| &s.label) != k.map(|s| &s.label) {
            out.push(Difference {
                at: format!("{label}: <step>"),
                weir: w.map(|s| s.label.clone()).unwrap_or(absent.clone()),
                kafka: k.map(|s| s.label.clone()).unwrap_or(absent.clone()),
            });
            continue;
        }
        let (w, k) = (w.unwrap(), k.unwrap());
        let km: HashMap<&str, &str> = k
            .leaves
            .iter()
            .map(|(p, v)| (p.as_str(), v.as_str()))
            .collect();
        let wm: HashMap<&str, &str> = w
            .leaves
            .iter()
            .map(|(p, v)| (p.as_str(), v.as_str()))
            .collect();
        for (p, v) in &w.leaves {
            match km.get(p.as_str()) {
                Some(kv) if kv == v => {}
                kv => out.push(Difference {
                    at: format!("{label}: {p}"),
                    weir: v.clone(),
                    kafka: kv.map(|s| s.to_string()).unwrap_or(absent.clone()),
                }),
            }
        }
        for (p, v) in &k.leaves {
            if !wm.contains_key(p.as_str()) {
                out.push(Difference {
                    at: format!("{label}: {p}"),
                    weir: absent.clone(),
                    kafka: v.clone(),
                });
            }
        }
    }
    out
}

/// `*` matches any run of characters (including none); everything else literally.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// One line of the explanations file: `SEQUENCE-GLOB | FIELD-GLOB | reason`.
pub struct Explanation {
    pub sequence: String,
    pub field: String,
    pub reason: String,
    pub used: std::cell::Cell<usize>,
}

pub fn parse_explanations(text: &str) -> Result<Vec<Explanation>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.splitn(3, '|').map(str::trim).collect();
        if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
            return Err(format!(
                "explanations line {}: want `SEQUENCE | FIELD | reason`",
                n + 1
            ));
        }
        out.push(Explanation {
            sequence: parts[0].to_string(),
            field: parts[1].to_string(),
            reason: parts[2].to_string(),
            used: Default::default(),
        });
    }
    Ok(out)
}

/// The explanation covering this difference of this sequence, if any.
pub fn explain<'a>(
    list: &'a [Explanation],
    sequence: &str,
    d: &Difference,
) -> Option<&'a Explanation> {
    let e = list
        .iter()
        .find(|e| glob(&e.sequence, sequence) && glob(&e.field, &d.at))?;
    e.used.set(e.used.get() + 1);
    Some(e)
}

/// Checks of the flattener and the glob, run at the start of every run.
pub fn self_test() {
    let text = "R {\n    a: 1,\n    b: [\n        X {\n            c: Some(\n                \"x\",\n            ),\n            d: BrokerId(\n                1,\n            ),\n        },\n    ],\n    e: [],\n}";
    let got = flatten(text);
    let want = vec![
        ("a".to_string(), "1".to_string()),
        ("b[0].c".to_string(), "Some(\"x\")".to_string()),
        ("b[0].d".to_string(), "BrokerId(1)".to_string()),
        ("e".to_string(), "[]".to_string()),
    ];
    assert_eq!(got, want, "flatten");
    assert!(glob("api/*", "api/Metadata v1"));
    assert!(glob(
        "*error_message",
        "2 Produce v11: responses[0].error_message"
    ));
    assert!(!glob("a*b", "ac"));
    assert!(glob("*", ""));
}
