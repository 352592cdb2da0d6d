//! The multi-pattern prefilter: one Aho-Corasick automaton per buffer over the fast
//! patterns of the rules that inspect it. A rule is fully evaluated only when its
//! fast pattern occurs in its buffer; rules without a usable fast pattern are always
//! candidates.

use crate::rules::{Buf, Item, Rule};
use aho_corasick::{AhoCorasick, MatchKind};
use std::collections::HashMap;

/// One buffer's automaton.
#[derive(Debug)]
struct BufAutomaton {
    buf: Buf,
    ac: AhoCorasick,
    /// Pattern id → indices of the rules whose fast pattern it is.
    rules: Vec<Vec<u32>>,
}

#[derive(Debug, Default)]
pub struct Prefilter {
    automata: Vec<BufAutomaton>,
    /// Rules without a fast pattern.
    pub always: Vec<u32>,
}

/// The fast pattern of a rule: an explicit `fast_pattern`, else the longest positive
/// content. Returned lower-cased (the automata match case-insensitively; the full
/// evaluation checks case).
pub fn fast_pattern(rule: &Rule) -> Option<(Buf, Vec<u8>)> {
    let mut best: Option<(Buf, &[u8], bool)> = None;
    for g in &rule.groups {
        for item in &g.items {
            let Item::Content(c) = item else { continue };
            if c.negated {
                continue;
            }
            let mut pat: &[u8] = &c.pattern;
            if let Some(Some((o, l))) = c.fast_pattern {
                pat = &pat[o..o + l];
            }
            if g.dotprefix {
                // The buffer is inspected with a `.` in front that the raw buffer lacks.
                pat = pat.strip_prefix(b".").unwrap_or(pat);
            }
            if pat.is_empty() {
                continue;
            }
            let explicit = c.fast_pattern.is_some();
            let better = match best {
                None => true,
                Some((_, bp, bexp)) => {
                    (explicit && !bexp) || (explicit == bexp && pat.len() > bp.len())
                }
            };
            if better {
                best = Some((g.buf, pat, explicit));
            }
        }
    }
    best.map(|(b, p, _)| (b, p.to_ascii_lowercase()))
}

impl Prefilter {
    /// Builds the prefilter over the rules at `indices`.
    pub fn build(
        rules: &[Rule],
        indices: &[u32],
        force_always: impl Fn(&Rule) -> bool,
    ) -> Prefilter {
        let mut per_buf: Vec<(Buf, HashMap<Vec<u8>, usize>, Vec<Vec<u8>>, Vec<Vec<u32>>)> =
            Vec::new();
        let mut always = Vec::new();
        for &idx in indices {
            let rule = &rules[idx as usize];
            let fp = if force_always(rule) {
                None
            } else {
                fast_pattern(rule)
            };
            let Some((buf, pat)) = fp else {
                always.push(idx);
                continue;
            };
            let entry = match per_buf.iter_mut().position(|e| e.0 == buf) {
                Some(p) => &mut per_buf[p],
                None => {
                    per_buf.push((buf, HashMap::new(), Vec::new(), Vec::new()));
                    per_buf.last_mut().expect("just pushed")
                }
            };
            let pid = match entry.1.get(&pat) {
                Some(&p) => p,
                None => {
                    let p = entry.2.len();
                    entry.1.insert(pat.clone(), p);
                    entry.2.push(pat);
                    entry.3.push(Vec::new());
                    p
                }
            };
            entry.3[pid].push(idx);
        }
        let mut automata = Vec::new();
        for (buf, _, patterns, rules) in per_buf {
            match AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(&patterns)
            {
                Ok(ac) => automata.push(BufAutomaton { buf, ac, rules }),
                // Too large to build: its rules are evaluated always instead.
                Err(_) => always.extend(rules.into_iter().flatten()),
            }
        }
        always.sort_unstable();
        Prefilter { automata, always }
    }

    /// Calls `hit` with each rule index whose fast pattern occurs in `data`, a buffer of
    /// kind `buf` (may repeat).
    pub fn scan(&self, buf: Buf, data: &[u8], mut hit: impl FnMut(u32)) {
        for a in self.automata.iter().filter(|a| a.buf == buf) {
            for m in a.ac.find_overlapping_iter(data) {
                for &r in &a.rules[m.pattern().as_usize()] {
                    hit(r);
                }
            }
        }
    }

    /// The buffers that have an automaton.
    pub fn buffers(&self) -> impl Iterator<Item = Buf> + '_ {
        self.automata.iter().map(|a| a.buf)
    }

    /// Number of distinct patterns.
    pub fn pattern_count(&self) -> usize {
        self.automata.iter().map(|a| a.rules.len()).sum()
    }
}
