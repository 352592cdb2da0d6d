//! A small lexer for the tidy checks: the code of a Rust file without its comments, the
//! contents of its string and character literals, and its `#[cfg(test)]` items, so that
//! patterns match code only, and every item that is not test code is checked (not just
//! what comes before a file's first `#[cfg(test)]`).

/// The text with comments and literal contents replaced by spaces (line breaks kept, so
/// byte offsets and line numbers stay those of the file).
pub fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = text[i..].find('\n').map_or(b.len(), |n| i + n);
                blank(&mut out, i, end);
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let (mut depth, mut j) = (1, i + 2);
                while j < b.len() && depth > 0 {
                    if b[j] == b'/' && b.get(j + 1) == Some(&b'*') {
                        depth += 1;
                        j += 2;
                    } else if b[j] == b'*' && b.get(j + 1) == Some(&b'/') {
                        depth -= 1;
                        j += 2;
                    } else {
                        j += 1;
                    }
                }
                blank(&mut out, i, j);
                i = j;
            }
            b'r' | b'b' if is_raw_string_start(b, i) => {
                let mut j = i + 1;
                if b[i] == b'b' {
                    j += 1; // the `r` of `br`
                }
                let hashes = b[j..].iter().take_while(|c| **c == b'#').count();
                let open = j + hashes; // the opening quote
                let mut close = format!("\"{}", "#".repeat(hashes));
                close.shrink_to_fit();
                let end = text[open + 1..]
                    .find(&close)
                    .map_or(b.len(), |n| open + 1 + n);
                blank(&mut out, open + 1, end);
                i = (end + close.len()).min(b.len());
            }
            b'"' => {
                let end = string_end(b, i + 1);
                blank(&mut out, i + 1, end.saturating_sub(1).max(i + 1));
                i = end;
            }
            b'\'' => {
                // A character literal, or a lifetime / label (`'a`), which is code.
                if b.get(i + 1) == Some(&b'\\') {
                    let mut j = i + 2;
                    while j < b.len() && b[j] != b'\'' {
                        j += 1;
                    }
                    blank(&mut out, i + 1, j);
                    i = j + 1;
                } else if let Some(c) = text[i + 1..].chars().next()
                    && text[i + 1 + c.len_utf8()..].starts_with('\'')
                {
                    blank(&mut out, i + 1, i + 1 + c.len_utf8());
                    i += 2 + c.len_utf8();
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    // Multi-byte characters inside literals and comments were blanked byte by byte; the
    // rest is untouched, so the result is valid UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn is_raw_string_start(b: &[u8], i: usize) -> bool {
    if i > 0 && is_ident_byte(b[i - 1]) {
        return false;
    }
    let mut j = i + 1;
    if b[i] == b'b' {
        if b.get(j) != Some(&b'r') {
            return false;
        }
        j += 1;
    }
    while b.get(j) == Some(&b'#') {
        j += 1;
    }
    b.get(j) == Some(&b'"')
}

/// The index just past the closing quote of a string whose contents start at `i`.
fn string_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// `code_only`, and every item marked `#[cfg(test)]` blanked as well.
pub fn non_test_code(text: &str) -> String {
    let mut code = code_only(text).into_bytes();
    let needle = b"#[cfg(test)]";
    let mut from = 0;
    while let Some(start) = find(&code, needle, from) {
        let end = item_end(&code, start + needle.len());
        for c in &mut code[start..end] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
        from = end;
    }
    String::from_utf8(code).unwrap_or_default()
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The end of the item that starts at `i` (after its attribute): its closing brace at
/// depth zero, or its `;` when it has no body (`mod tests;`, `use ...;`).
fn item_end(code: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < code.len() {
        match code[i] {
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 && code[i] == b'}' {
                    return i + 1;
                }
            }
            b';' if depth == 0 => return i + 1,
            _ => {}
        }
        i += 1;
    }
    code.len()
}

/// The identifiers of the code, each with the byte offset where it starts.
pub fn idents(code: &str) -> Vec<(usize, &str)> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if is_ident_byte(b[i]) && (i == 0 || !is_ident_byte(b[i - 1])) {
            let start = i;
            while i < b.len() && is_ident_byte(b[i]) {
                i += 1;
            }
            if !b[start].is_ascii_digit() {
                out.push((start, &code[start..i]));
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Every path that starts with `root` (`std`, `jiff`, ...), with use-tree groups
/// expanded: `use std::{fs, io::Read}` gives `std::fs` and `std::io::Read`. Whitespace
/// and line breaks inside a path are allowed, as in Rust.
pub fn paths_from(code: &str, root: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (at, id) in idents(code) {
        if id != root {
            continue;
        }
        let before = code[..at].trim_end();
        // `foo::std` is not the root `std`; `::std` is.
        if before.ends_with("::") && !before[..before.len() - 2].trim_end().is_empty() {
            let prev = before[..before.len() - 2].trim_end();
            if prev.bytes().last().is_some_and(is_ident_byte) {
                continue;
            }
        }
        tree(code, at + id.len(), root.to_string(), at, &mut out);
    }
    out
}

fn skip_ws(code: &str, mut i: usize) -> usize {
    let b = code.as_bytes();
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// Extends `prefix` with what follows at `i` (`::name`, `::{a, b::c}`), pushing each
/// complete path; returns where the parse stopped.
fn tree(code: &str, i: usize, prefix: String, at: usize, out: &mut Vec<(usize, String)>) -> usize {
    let b = code.as_bytes();
    let j = skip_ws(code, i);
    if !code[j..].starts_with("::") {
        out.push((at, prefix));
        return i;
    }
    let k = skip_ws(code, j + 2);
    if b.get(k) == Some(&b'{') {
        let mut p = k + 1;
        loop {
            p = skip_ws(code, p);
            match b.get(p) {
                None => return p,
                Some(b'}') => return p + 1,
                Some(b',') => p += 1,
                Some(c) if is_ident_byte(*c) || *c == b'*' => {
                    let s = p;
                    while p < b.len() && (is_ident_byte(b[p]) || b[p] == b'*') {
                        p += 1;
                    }
                    let name = &code[s..p];
                    p = tree(code, p, format!("{prefix}::{name}"), at, out);
                    // `as alias`
                    let q = skip_ws(code, p);
                    if code[q..].starts_with("as ") {
                        p = skip_ws(code, q + 3);
                        while p < b.len() && is_ident_byte(b[p]) {
                            p += 1;
                        }
                    }
                }
                Some(_) => p += 1,
            }
        }
    }
    let s = k;
    let mut p = k;
    while p < b.len() && (is_ident_byte(b[p]) || b[p] == b'*') {
        p += 1;
    }
    if p == s {
        out.push((at, prefix));
        return p;
    }
    tree(code, p, format!("{prefix}::{}", &code[s..p]), at, out)
}

/// The 1-based line of a byte offset.
pub fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_literals_are_not_code() {
        let c = code_only(
            "let a = \"std::fs\"; // std::fs\n/* std::fs /* nested */ */ b'x'; r#\"std::fs\"#;",
        );
        assert!(!c.contains("std"), "{c}");
        assert_eq!(c.lines().count(), 2);
        let c = code_only("fn f<'a>(x: &'a str) -> char { 'x' }");
        assert!(c.contains("'a str"), "{c}");
        assert!(c.contains("{ ' ' }"), "{c}");
    }

    #[test]
    fn every_cfg_test_item_is_removed_and_only_those() {
        let text = "fn a() {}\n#[cfg(test)]\nmod t { fn b() { {} } }\nfn after() { std::fs::read(\"x\"); }\n#[cfg(test)]\nuse std::env;\nfn last() {}\n";
        let c = non_test_code(text);
        assert!(c.contains("fn after()"), "{c}");
        assert!(c.contains("std::fs::read"), "{c}");
        assert!(c.contains("fn last()"), "{c}");
        assert!(!c.contains("mod t"), "{c}");
        assert!(!c.contains("std::env"), "{c}");
    }

    #[test]
    fn use_trees_are_expanded() {
        let p: Vec<String> = paths_from(
            "use std::{fs, io::{self, Read}, net::TcpStream as T};\nlet x = ::std::time::Instant::now();\nlet y = my::std::fs;",
            "std",
        )
        .into_iter()
        .map(|(_, p)| p)
        .collect();
        assert_eq!(
            p,
            [
                "std::fs",
                "std::io::self",
                "std::io::Read",
                "std::net::TcpStream",
                "std::time::Instant::now"
            ]
        );
        let p = paths_from("use std\n    ::process\n    ::Command;", "std");
        assert_eq!(p[0].1, "std::process::Command");
    }
}
