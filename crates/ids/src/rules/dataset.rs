//! Datasets (`dataset`, `datarep`): named sets of values shared by the rules that name
//! them, loaded from files next to the rule file and, for `dataset:set`, grown by
//! detection. Values are compared as bytes of the inspected buffer (after transforms):
//! `string` as is, `md5` / `sha256` as raw digests, `ipv4` as 4 bytes, `ip` as 16
//! bytes (IPv4 mapped into IPv6).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Values added by detection to one set, at most: beyond, `set` no longer adds (and
/// does not match), so memory stays bounded whatever the traffic.
pub const MAX_ADDED: usize = 1 << 20;

/// The type of a dataset's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    String,
    Md5,
    Sha256,
    Ipv4,
    Ip,
}

impl DataType {
    pub fn parse(s: &str) -> Option<DataType> {
        Some(match s {
            "string" => DataType::String,
            "md5" => DataType::Md5,
            "sha256" => DataType::Sha256,
            "ipv4" => DataType::Ipv4,
            "ip" => DataType::Ip,
            _ => return None,
        })
    }

    /// The key of an inspected buffer, `None` when it cannot be one of this type.
    pub fn key(self, data: &[u8]) -> Option<Vec<u8>> {
        match self {
            DataType::String => Some(data.to_vec()),
            DataType::Md5 => (data.len() == 16).then(|| data.to_vec()),
            DataType::Sha256 => (data.len() == 32).then(|| data.to_vec()),
            DataType::Ipv4 => (data.len() == 4).then(|| data.to_vec()),
            DataType::Ip => match data.len() {
                4 => {
                    let a: [u8; 4] = data.try_into().ok()?;
                    Some(
                        std::net::Ipv4Addr::from(a)
                            .to_ipv6_mapped()
                            .octets()
                            .to_vec(),
                    )
                }
                16 => Some(data.to_vec()),
                _ => None,
            },
        }
    }

    /// The key of a value as written in a dataset file.
    fn parse_value(self, text: &str) -> Result<Vec<u8>, String> {
        let hex = |n: usize| -> Result<Vec<u8>, String> {
            if text.len() != 2 * n || !text.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(format!("`{text}` is not {n} bytes in hex"));
            }
            Ok((0..n)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap_or(0))
                .collect())
        };
        match self {
            DataType::String => {
                let v = crate::detect::transform::base64_strict(text.as_bytes())
                    .ok_or_else(|| format!("`{text}` is not base64"))?;
                Ok(v)
            }
            DataType::Md5 => hex(16),
            DataType::Sha256 => hex(32),
            DataType::Ipv4 => text
                .parse::<std::net::Ipv4Addr>()
                .map(|a| a.octets().to_vec())
                .map_err(|_| format!("`{text}` is not an IPv4 address")),
            DataType::Ip => match text.parse::<IpAddr>() {
                Ok(IpAddr::V4(a)) => Ok(a.to_ipv6_mapped().octets().to_vec()),
                Ok(IpAddr::V6(a)) => Ok(a.octets().to_vec()),
                Err(_) => Err(format!("`{text}` is not an IP address")),
            },
        }
    }
}

/// One named set: each value with its reputation (for `datarep`).
#[derive(Debug)]
pub struct Dataset {
    pub name: String,
    pub kind: DataType,
    entries: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<Vec<u8>, u32>,
    added: usize,
}

impl Dataset {
    pub fn new(name: &str, kind: DataType) -> Dataset {
        Dataset {
            name: name.to_string(),
            kind,
            entries: Mutex::new(Entries::default()),
        }
    }

    /// Loads a file's text (named `file` in errors): one value a line,
    /// `value,reputation` when `rep`; blank lines and `#` comments skipped. Errors name
    /// the file and line.
    pub fn load(&self, file: &str, text: &str, rep: bool) -> Result<usize, String> {
        let mut e = self.lock();
        let mut n = 0;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = |m: String| format!("{file}:{}: {m}", i + 1);
            let (value, reputation) = match line.split_once(',') {
                Some((v, r)) => {
                    let r: u32 = r
                        .trim()
                        .parse()
                        .map_err(|_| at(format!("reputation `{}` is not a number", r.trim())))?;
                    (v.trim(), r)
                }
                None if rep => return Err(at("expected value,reputation".into())),
                None => (line, 0),
            };
            let key = self.kind.parse_value(value).map_err(at)?;
            e.map.insert(key, reputation);
            n += 1;
        }
        Ok(n)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic elsewhere cannot leave the map half-updated: use it as is.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        self.lock().map.contains_key(key)
    }

    /// Adds a value; true when it was not there (and the set had room).
    pub fn add(&self, key: &[u8]) -> bool {
        let mut e = self.lock();
        if e.map.contains_key(key) || e.added >= MAX_ADDED {
            return false;
        }
        e.added += 1;
        e.map.insert(key.to_vec(), 0);
        true
    }

    /// Removes a value; true when it was there.
    pub fn remove(&self, key: &[u8]) -> bool {
        self.lock().map.remove(key).is_some()
    }

    pub fn reputation(&self, key: &[u8]) -> Option<u32> {
        self.lock().map.get(key).copied()
    }
}

/// What a rule does with a dataset.
#[derive(Debug, Clone)]
pub enum DatasetOp {
    /// `dataset:set`: adds the buffer; matches when it was new.
    Set(Arc<Dataset>),
    /// `dataset:unset`: removes the buffer; matches when it was there.
    Unset(Arc<Dataset>),
    IsSet(Arc<Dataset>),
    IsNotSet(Arc<Dataset>),
    /// `datarep:name, op, value`: the buffer is in the set with a reputation that
    /// compares so with the value.
    Rep(Arc<Dataset>, RepOp, u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepOp {
    Lt,
    Gt,
    Eq,
}

impl DatasetOp {
    /// Evaluates on an inspected buffer.
    pub fn matches(&self, data: &[u8]) -> bool {
        let set = match self {
            DatasetOp::Set(s)
            | DatasetOp::Unset(s)
            | DatasetOp::IsSet(s)
            | DatasetOp::IsNotSet(s)
            | DatasetOp::Rep(s, ..) => s,
        };
        let Some(key) = set.kind.key(data) else {
            return matches!(self, DatasetOp::IsNotSet(_));
        };
        match self {
            DatasetOp::Set(s) => s.add(&key),
            DatasetOp::Unset(s) => s.remove(&key),
            DatasetOp::IsSet(s) => s.contains(&key),
            DatasetOp::IsNotSet(s) => !s.contains(&key),
            DatasetOp::Rep(s, op, v) => s.reputation(&key).is_some_and(|r| match op {
                RepOp::Lt => r < *v,
                RepOp::Gt => r > *v,
                RepOp::Eq => r == *v,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_file_values_agree() {
        assert_eq!(
            DataType::Ip.key(&[1, 2, 3, 4]),
            DataType::Ip.parse_value("1.2.3.4").ok()
        );
        assert_eq!(
            DataType::Ip.parse_value("::ffff:1.2.3.4"),
            DataType::Ip.parse_value("1.2.3.4")
        );
        assert_eq!(
            DataType::String.parse_value("Z29vZ2xlLmNvbQ==").unwrap(),
            b"google.com"
        );
        assert!(DataType::Md5.parse_value("abc").is_err());
        assert_eq!(DataType::Md5.key(&[0; 15]), None);
    }

    #[test]
    fn set_grows_and_ops_match() {
        let s = Arc::new(Dataset::new("x", DataType::String));
        assert!(DatasetOp::IsNotSet(s.clone()).matches(b"a"));
        assert!(DatasetOp::Set(s.clone()).matches(b"a"));
        assert!(!DatasetOp::Set(s.clone()).matches(b"a"), "already there");
        assert!(DatasetOp::IsSet(s.clone()).matches(b"a"));
        assert!(DatasetOp::Unset(s.clone()).matches(b"a"));
        assert!(!DatasetOp::IsSet(s).matches(b"a"));
    }
}
