//! Evaluation of one buffer's payload keywords (content, pcre, isdataat, bsize,
//! byte_test, byte_jump), with Suricata's relative matching and backtracking: when a
//! later relative keyword fails, an earlier content is retried at its next occurrence.

use crate::rules::{
    ByteExtract, ByteJump, ByteMath, ByteOp, ByteTest, Content, Item, MAX_BYTE_VARS, MathOp,
    NumFormat, Pcre,
};

/// The values of a rule's `byte_extract` / `byte_math` variables.
pub type ByteVars = [u64; MAX_BYTE_VARS];

/// Suricata's default `inspection-recursion-limit`.
const RECURSION_LIMIT: u32 = 3000;

/// Whether the items match `buf`, with the variables set by earlier groups of the rule;
/// on a match, `vars` holds the values the matching path set.
pub fn group_matches_with(items: &[Item], buf: &[u8], vars: &mut ByteVars) -> bool {
    let mut budget = RECURSION_LIMIT;
    match_at(items, 0, buf, 0, &mut budget, vars)
}

fn is_relative(item: &Item) -> bool {
    match item {
        Item::Content(c) => c.relative(),
        Item::Pcre(p) => p.relative,
        Item::IsDataAt { relative, .. } => *relative,
        Item::ByteTest(t) => t.relative,
        Item::ByteJump(j) => j.relative,
        Item::ByteExtract(x) => x.relative,
        Item::ByteMath(m) => m.relative,
        Item::Base64Decode { relative, .. } => *relative,
        Item::Bsize(_) | Item::Dataset(_) | Item::InList { .. } => false,
    }
}

// A variable is set by an item and read only by items after it: when an earlier content
// is retried (backtracking), the items after it run again and set their variables
// anew, so one array serves every path.
fn match_at(
    items: &[Item],
    i: usize,
    buf: &[u8],
    prev_end: usize,
    budget: &mut u32,
    vars: &mut ByteVars,
) -> bool {
    let Some(item) = items.get(i) else {
        return true;
    };
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    let backtrack = items[i + 1..].iter().any(is_relative);
    match item {
        Item::Content(c) => {
            let window = content_window(c, buf.len(), prev_end);
            if c.negated {
                let found = match window {
                    Some((s, e)) => find_in(c, buf, s, e).is_some(),
                    None => false,
                };
                return !found && match_at(items, i + 1, buf, prev_end, budget, vars);
            }
            let Some((start, end)) = window else {
                return false;
            };
            let mut from = start;
            while let Some(pos) = find_in(c, buf, from, end) {
                if match_at(items, i + 1, buf, pos + c.pattern.len(), budget, vars) {
                    return true;
                }
                if !backtrack || *budget == 0 {
                    return false;
                }
                from = pos + 1;
            }
            false
        }
        Item::Pcre(p) => match_pcre(p, items, i, buf, prev_end, budget, backtrack, vars),
        Item::IsDataAt {
            n,
            relative,
            negated,
        } => {
            let n = *n as usize;
            let data = if *relative {
                prev_end + n <= buf.len()
            } else {
                n < buf.len()
            };
            data != *negated && match_at(items, i + 1, buf, prev_end, budget, vars)
        }
        Item::Dataset(op) => op.matches(buf) && match_at(items, i + 1, buf, prev_end, budget, vars),
        Item::Bsize(m) => {
            m.matches(buf.len() as u64) && match_at(items, i + 1, buf, prev_end, budget, vars)
        }
        Item::InList { list, negated } => {
            list.values.contains(buf) != *negated
                && match_at(items, i + 1, buf, prev_end, budget, vars)
        }
        Item::ByteTest(t) => {
            byte_test(t, buf, prev_end, vars) && match_at(items, i + 1, buf, prev_end, budget, vars)
        }
        Item::ByteJump(j) => match byte_jump(j, buf, prev_end, vars) {
            Some(next) => match_at(items, i + 1, buf, next, budget, vars),
            None => false,
        },
        Item::ByteExtract(x) => match byte_extract(x, buf, prev_end) {
            Some((v, next)) => {
                vars[x.var as usize] = v;
                match_at(items, i + 1, buf, next, budget, vars)
            }
            None => false,
        },
        Item::ByteMath(m) => match byte_math(m, buf, prev_end, vars) {
            Some((v, next)) => {
                vars[m.var as usize] = v;
                match_at(items, i + 1, buf, next, budget, vars)
            }
            None => false,
        },
        Item::Base64Decode {
            bytes,
            offset,
            relative,
            then,
        } => {
            let start = if *relative { prev_end } else { 0 } + *offset as usize;
            let Some(rest) = buf.get(start..) else {
                return false;
            };
            let rest = match bytes {
                Some(n) => &rest[..rest.len().min(*n as usize)],
                None => rest,
            };
            let decoded = base64_decode(rest);
            !decoded.is_empty()
                && match_at(then, 0, &decoded, 0, budget, vars)
                && match_at(items, i + 1, buf, prev_end, budget, vars)
        }
    }
}

/// Base64 (RFC 4648) up to the first character outside the alphabet or padding; a
/// final partial group yields the bytes it holds.
pub fn base64_decode(data: &[u8]) -> Vec<u8> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let mut out = Vec::with_capacity(data.len() / 4 * 3);
    let (mut acc, mut n) = (0u32, 0);
    for &c in data {
        let Some(v) = val(c) else { break };
        acc = (acc << 6) | v;
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
    }
    match n {
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => {}
    }
    out
}

/// The `[start, end)` range where the content may lie, or `None` if it cannot fit.
fn content_window(c: &Content, len: usize, prev_end: usize) -> Option<(usize, usize)> {
    let plen = c.pattern.len();
    let (start, end) = if c.startswith {
        (0i64, plen as i64)
    } else if c.relative() {
        let base = prev_end as i64 + i64::from(c.distance.unwrap_or(0));
        let end = match c.within {
            Some(w) => base + i64::from(w),
            None => len as i64,
        };
        (base.max(0), end)
    } else {
        let start = i64::from(c.offset);
        let end = match c.depth {
            Some(d) => start + i64::from(d),
            None => len as i64,
        };
        (start, end)
    };
    let end = end.min(len as i64);
    if end - start < plen as i64 {
        return None;
    }
    Some((start as usize, end as usize))
}

/// First occurrence of the content starting at or after `from` and ending by `end`
/// (and at the buffer's end for `endswith`).
fn find_in(c: &Content, buf: &[u8], from: usize, end: usize) -> Option<usize> {
    let plen = c.pattern.len();
    if end > buf.len() || from + plen > end {
        return None;
    }
    if c.endswith {
        if end != buf.len() {
            return None;
        }
        let pos = buf.len() - plen;
        return (pos >= from && eq(&buf[pos..], &c.pattern, c.nocase)).then_some(pos);
    }
    let hay = &buf[from..end];
    let pos = if c.nocase {
        find_nocase(hay, &c.pattern)
    } else {
        memchr::memmem::find(hay, &c.pattern)
    }?;
    Some(from + pos)
}

fn eq(a: &[u8], b: &[u8], nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

fn find_nocase(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    let (lo, up) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    let last_start = hay.len().checked_sub(needle.len())?;
    let mut from = 0;
    while from <= last_start {
        let rel = memchr::memchr2(lo, up, &hay[from..=last_start])?;
        let pos = from + rel;
        if hay[pos..pos + needle.len()].eq_ignore_ascii_case(needle) {
            return Some(pos);
        }
        from = pos + 1;
    }
    None
}

#[allow(clippy::too_many_arguments)]
fn match_pcre(
    p: &Pcre,
    items: &[Item],
    i: usize,
    buf: &[u8],
    prev_end: usize,
    budget: &mut u32,
    backtrack: bool,
    vars: &mut ByteVars,
) -> bool {
    // A relative pcre sees the buffer from the previous match on, so `^` anchors there.
    let base = if p.relative {
        prev_end.min(buf.len())
    } else {
        0
    };
    let subject = &buf[base..];
    if p.negated {
        let found = matches!(p.regex.find(subject), Ok(Some(_)));
        return !found && match_at(items, i + 1, buf, prev_end, budget, vars);
    }
    let mut from = 0;
    while from <= subject.len() {
        let m = match p.regex.find_at(subject, from) {
            Ok(Some(m)) => m,
            _ => return false,
        };
        if match_at(items, i + 1, buf, base + m.end(), budget, vars) {
            return true;
        }
        if !backtrack || *budget == 0 {
            return false;
        }
        from = m.start() + 1;
    }
    false
}

/// Reads `nbytes` at `pos` as a number; `None` if out of bounds or not a number.
fn extract(
    buf: &[u8],
    pos: i64,
    nbytes: usize,
    format: NumFormat,
    bitmask: Option<u64>,
) -> Option<u64> {
    if pos < 0 {
        return None;
    }
    let pos = pos as usize;
    let nbytes = if nbytes == 0 {
        buf.len().checked_sub(pos)?.min(23)
    } else {
        nbytes
    };
    let bytes = buf.get(pos..pos.checked_add(nbytes)?)?;
    let v = match format {
        NumFormat::Big => bytes.iter().fold(0u64, |a, b| a << 8 | u64::from(*b)),
        NumFormat::Little => bytes.iter().rev().fold(0u64, |a, b| a << 8 | u64::from(*b)),
        NumFormat::String(base) => {
            let end = bytes
                .iter()
                .position(|b| !b.is_ascii())
                .unwrap_or(bytes.len());
            let s = std::str::from_utf8(&bytes[..end]).ok()?;
            // Like strtoull: leading digits count, the rest is ignored.
            let s = s.trim_start();
            let s = if base == 16 {
                s.trim_start_matches("0x").trim_start_matches("0X")
            } else {
                s
            };
            let end = s
                .char_indices()
                .find(|(_, c)| !c.is_digit(base))
                .map_or(s.len(), |(i, _)| i);
            if end == 0 {
                return None;
            }
            u64::from_str_radix(&s[..end], base).ok()?
        }
    };
    Some(match bitmask {
        Some(m) => (v & m) >> m.trailing_zeros(),
        None => v,
    })
}

fn byte_test(t: &ByteTest, buf: &[u8], prev_end: usize, vars: &ByteVars) -> bool {
    let base = if t.relative { prev_end as i64 } else { 0 };
    let Some(v) = extract(
        buf,
        base.saturating_add(t.offset),
        t.nbytes,
        t.format,
        t.bitmask,
    ) else {
        return false;
    };
    let value = t.value_var.map_or(t.value, |i| vars[i as usize]);
    let r = match t.op {
        ByteOp::Lt => v < value,
        ByteOp::Gt => v > value,
        ByteOp::Eq => v == value,
        ByteOp::Le => v <= value,
        ByteOp::Ge => v >= value,
        ByteOp::And => v & value != 0,
        ByteOp::Xor => v ^ value != 0,
    };
    r != t.negated
}

/// Returns the new inspection position.
fn byte_jump(j: &ByteJump, buf: &[u8], prev_end: usize, vars: &ByteVars) -> Option<usize> {
    let base = if j.relative { prev_end as i64 } else { 0 };
    let pos = base.saturating_add(j.offset);
    let nbytes = match j.nbytes_var {
        Some(i) => usize::try_from(vars[i as usize]).ok().filter(|n| *n <= 8)?,
        None => j.nbytes,
    };
    let v = if nbytes == 0 {
        // Nothing to read: a jump of 0 from `pos`.
        if pos < 0 || pos as usize > buf.len() {
            return None;
        }
        0
    } else {
        extract(buf, pos, nbytes, j.format, j.bitmask)?
    };
    let mut jump = i64::try_from(v.checked_mul(j.multiplier)?).ok()?;
    if j.align && jump % 4 != 0 {
        jump = jump.checked_add(4 - jump % 4)?;
    }
    let from = if j.from_beginning {
        0
    } else if j.from_end {
        buf.len() as i64
    } else {
        pos + nbytes as i64
    };
    let next = from.checked_add(jump)?.checked_add(j.post_offset)?;
    if next < 0 || next > buf.len() as i64 {
        return None;
    }
    Some(next as usize)
}

/// `byte_extract`: the value (times the multiplier, aligned) and the position after
/// the bytes read.
fn byte_extract(x: &ByteExtract, buf: &[u8], prev_end: usize) -> Option<(u64, usize)> {
    let base = if x.relative { prev_end as i64 } else { 0 };
    let pos = base.checked_add(x.offset)?;
    let v = extract(buf, pos, x.nbytes, x.format, x.bitmask)?;
    let mut v = v.checked_mul(x.multiplier)?;
    if x.align > 0 {
        let a = u64::from(x.align);
        v = v.checked_add((a - v % a) % a)?;
    }
    Some((v, usize::try_from(pos).ok()? + x.nbytes))
}

/// `byte_math`: the result and the position after the bytes read; `None` when the
/// bytes are missing or the operation fails (division by 0, overflow).
fn byte_math(m: &ByteMath, buf: &[u8], prev_end: usize, vars: &ByteVars) -> Option<(u64, usize)> {
    let base = if m.relative { prev_end as i64 } else { 0 };
    let pos = base.checked_add(m.offset)?;
    let nbytes = match m.nbytes_var {
        Some(i) => usize::try_from(vars[i as usize])
            .ok()
            .filter(|n| (1..=10).contains(n))?,
        None => m.nbytes,
    };
    let v = extract(buf, pos, nbytes, m.format, m.bitmask)?;
    let r = m.rvalue_var.map_or(m.rvalue, |i| vars[i as usize]);
    let out = match m.op {
        MathOp::Add => v.checked_add(r)?,
        MathOp::Sub => v.checked_sub(r)?,
        MathOp::Mul => v.checked_mul(r)?,
        MathOp::Div => v.checked_div(r)?,
        MathOp::Shl => v.checked_shl(u32::try_from(r).ok()?)?,
        MathOp::Shr => v.checked_shr(u32::try_from(r).ok()?)?,
    };
    Some((out, usize::try_from(pos).ok()? + nbytes))
}
