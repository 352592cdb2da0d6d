//! A SIMD first stage for the prefilter (Teddy-style nibble masks): it tests 16
//! positions of the data at once and reports a superset of the positions where one of
//! the patterns can begin, so that the scalar tests run only there.
//!
//! Each pattern goes to one of sixteen buckets. For each of the first four bytes of a
//! window, two tables (by the byte's low and high nibble) give the buckets whose
//! patterns admit that nibble there; a position is reported when some bucket admits
//! all eight nibbles. The tables admit both ASCII cases of every letter (and every
//! byte past the end of a shorter pattern), so no position where a pattern occurs
//! (compared case-insensitively) is ever left out: the filter only removes positions.
//! The AVX2 kernel is chosen at run time; without AVX2 (or when the filter would let
//! too much through) the caller's scalar loop covers the whole data, which gives the
//! same results.

/// Bytes of the window the masks test (the kernel combines exactly four).
const WIDTH: usize = 4;
/// Buckets of patterns: eight per 128-bit half of a table.
const BUCKETS: usize = 16;

/// The bucket tables, by window byte: low-nibble table, high-nibble table.
#[derive(Debug, Clone)]
pub struct Teddy {
    lo: [[u8; 32]; WIDTH],
    hi: [[u8; 32]; WIDTH],
    /// Estimated share of positions that pass (see [`bucket_rate`]).
    rate: f64,
}

/// Bytes of the text model: lower-case letters, digits, space and the punctuation of
/// markup (case does not matter: the tables fold it).
const TEXT: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789 <>/=\".,:;-_\n";

/// Estimated share of positions a bucket lets through (its nibble sets per window
/// byte): the mean of uniformly random bytes and of text (the model above), each byte
/// drawn independently. Text matters: its bytes share few high nibbles, so a bucket
/// of letters passes far more text than random data.
fn bucket_rate(b: &[(u16, u16); WIDTH]) -> f64 {
    // Per high nibble, the set of low nibbles of the text bytes.
    const LOW_BY_HIGH: [u16; 16] = {
        let mut t = [0u16; 16];
        let mut i = 0;
        while i < TEXT.len() {
            t[(TEXT[i] >> 4) as usize] |= 1 << (TEXT[i] & 0x0F);
            i += 1;
        }
        t
    };
    let uniform: f64 = b
        .iter()
        .map(|&(l, h)| f64::from(l.count_ones()) * f64::from(h.count_ones()) / 256.0)
        .product();
    let text: f64 = b
        .iter()
        .map(|&(l, h)| {
            let n: u32 = (0..16)
                .filter(|&hi| h >> hi & 1 != 0)
                .map(|hi| (LOW_BY_HIGH[hi] & l).count_ones())
                .sum();
            f64::from(n) / TEXT.len() as f64
        })
        .product();
    (uniform + text) / 2.0
}

/// The filter is not worth its cost when it lets more than this share of the
/// positions through (estimated from the tables, see [`bucket_rate`]): each reported
/// position costs a call and a mispredicted branch, more than the scalar test.
const MAX_PASS_RATE: f64 = 0.08;

/// Larger sets are not tried: they fill every bucket past [`MAX_PASS_RATE`].
const MAX_PATTERNS: usize = 256;

impl Teddy {
    /// Builds the tables for `patterns` (non-empty each), or `None` when the CPU lacks
    /// AVX2 or the patterns are too many or too varied for the filter to pay.
    pub fn build(patterns: &[Vec<u8>]) -> Option<Teddy> {
        if !avx2() || patterns.len() > MAX_PATTERNS {
            return None;
        }
        Teddy::build_tables(patterns).filter(|t| t.rate <= MAX_PASS_RATE)
    }

    /// The tables, whatever their pass rate (`None` for an empty pattern).
    pub fn build_tables(patterns: &[Vec<u8>]) -> Option<Teddy> {
        // Nibble sets of each pattern: per window byte, a 16-bit set of low nibbles
        // and one of high nibbles.
        let sets: Vec<[(u16, u16); WIDTH]> = patterns
            .iter()
            .map(|p| {
                let mut s = [(0xFFFF, 0xFFFF); WIDTH];
                for (j, &b) in p.iter().take(WIDTH).enumerate() {
                    // Both bytes the case fold (bit 5 cleared) maps to `f`: a superset
                    // of the ASCII case variants of `b`.
                    let f = b & 0xDF;
                    let his = 1u16 << (f >> 4) | 1 << ((f | 0x20) >> 4);
                    s[j] = (1 << (f & 0x0F), his);
                }
                s
            })
            .collect();
        if patterns.iter().any(|p| p.is_empty()) {
            return None;
        }
        // Shorter patterns (the widest sets) first, then by their first bytes, so
        // that similar patterns share buckets.
        let mut order: Vec<usize> = (0..patterns.len()).collect();
        order.sort_by(|&a, &b| {
            patterns[a]
                .len()
                .min(WIDTH)
                .cmp(&patterns[b].len().min(WIDTH))
                .then_with(|| patterns[a].cmp(&patterns[b]))
        });
        let mut buckets = [[(0u16, 0u16); WIDTH]; BUCKETS];
        for &i in &order {
            let mut best = (f64::INFINITY, 0usize);
            for (bi, b) in buckets.iter().enumerate() {
                let mut merged = *b;
                for (m, s) in merged.iter_mut().zip(&sets[i]) {
                    m.0 |= s.0;
                    m.1 |= s.1;
                }
                let cost = bucket_rate(&merged) - bucket_rate(b);
                if cost < best.0 {
                    best = (cost, bi);
                }
            }
            let b = &mut buckets[best.1];
            for (m, s) in b.iter_mut().zip(&sets[i]) {
                m.0 |= s.0;
                m.1 |= s.1;
            }
        }
        let mut t = Teddy {
            lo: [[0; 32]; WIDTH],
            hi: [[0; 32]; WIDTH],
            rate: buckets.iter().map(bucket_rate).sum(),
        };
        for (bi, b) in buckets.iter().enumerate() {
            for (j, &(l, h)) in b.iter().enumerate() {
                for n in 0..16 {
                    // Buckets 0-7 in the first 16 entries, 8-15 in the second.
                    let at = n + 16 * (bi / 8);
                    if l >> n & 1 != 0 {
                        t.lo[j][at] |= 1 << (bi % 8);
                    }
                    if h >> n & 1 != 0 {
                        t.hi[j][at] |= 1 << (bi % 8);
                    }
                }
            }
        }
        Some(t)
    }

    #[cfg(test)]
    /// Whether the tables admit a window starting at `at` (the portable form of the
    /// kernel's test; `data[at..at + WIDTH]` must exist).
    pub fn admits(&self, data: &[u8], at: usize) -> bool {
        let (mut r0, mut r1) = (0xFF, 0xFF);
        for j in 0..WIDTH {
            let b = data[at + j];
            let (l, h) = (usize::from(b & 0x0F), usize::from(b >> 4));
            r0 &= self.lo[j][l] & self.hi[j][h];
            r1 &= self.lo[j][16 + l] & self.hi[j][16 + h];
        }
        r0 | r1 != 0
    }

    /// Calls `f` with every position `i < end` that the tables admit (and possibly some
    /// they do not), in increasing order, and returns `end`: the positions from `end`
    /// on are left to the caller. `end` is 0 without AVX2.
    pub fn scan(&self, data: &[u8], f: impl FnMut(usize)) -> usize {
        #[cfg(target_arch = "x86_64")]
        if avx2() {
            // SAFETY: the CPU supports AVX2 (checked just above).
            #[allow(unsafe_code)]
            return unsafe { x86::scan_avx2(self, data, f) };
        }
        let _ = (data, f);
        0
    }
}

fn avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86 {
    use super::{Teddy, WIDTH};
    use std::arch::x86_64::{
        __m256i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_setzero_si128, _mm256_alignr_epi8, _mm256_and_si256, _mm256_broadcastsi128_si256,
        _mm256_castsi256_si128, _mm256_extracti128_si256, _mm256_loadu_si256, _mm256_set1_epi8,
        _mm256_shuffle_epi8, _mm256_srli_epi16,
    };

    /// Positions per step.
    const STEP: usize = 16;

    #[target_feature(enable = "avx2")]
    fn table(t: &[u8; 32]) -> __m256i {
        // SAFETY: `t` is 32 readable bytes; the load is unaligned.
        unsafe { _mm256_loadu_si256(t.as_ptr().cast()) }
    }

    /// The kernel: 16 positions per step while the window of the last of them
    /// (`WIDTH` bytes) is inside `data`. Each half of a 256-bit register holds the same
    /// 16 bytes of data; the low half is looked up in buckets 0-7, the high half in
    /// buckets 8-15.
    #[target_feature(enable = "avx2")]
    pub(super) fn scan_avx2(t: &Teddy, data: &[u8], mut f: impl FnMut(usize)) -> usize {
        let lo: [__m256i; WIDTH] = std::array::from_fn(|j| table(&t.lo[j]));
        let hi: [__m256i; WIDTH] = std::array::from_fn(|j| table(&t.hi[j]));
        let nib = _mm256_set1_epi8(0x0F);
        let zero = _mm_setzero_si128();
        // The buckets admitting each of the 16 bytes at `from` as window byte j.
        let lookup = |from: usize| -> [__m256i; WIDTH] {
            // SAFETY: callers keep from + 16 <= data.len(); the load is unaligned.
            let v = unsafe { _mm_loadu_si128(data.as_ptr().add(from).cast()) };
            let v = _mm256_broadcastsi128_si256(v);
            let lv = _mm256_and_si256(v, nib);
            let hv = _mm256_and_si256(_mm256_srli_epi16::<4>(v), nib);
            std::array::from_fn(|j| {
                _mm256_and_si256(
                    _mm256_shuffle_epi8(lo[j], lv),
                    _mm256_shuffle_epi8(hi[j], hv),
                )
            })
        };
        let n = data.len();
        let mut at = 0;
        if n < 2 * STEP {
            return 0;
        }
        let mut cur = lookup(0);
        // Each step looks the next 16 bytes up once; window byte j of the positions at
        // `at` is then byte j on of the current lookup, followed by the next one's.
        while at + 2 * STEP <= n {
            let next = lookup(at + STEP);
            let r = _mm256_and_si256(
                _mm256_and_si256(cur[0], _mm256_alignr_epi8::<1>(next[1], cur[1])),
                _mm256_and_si256(
                    _mm256_alignr_epi8::<2>(next[2], cur[2]),
                    _mm256_alignr_epi8::<3>(next[3], cur[3]),
                ),
            );
            let any = _mm_or_si128(_mm256_castsi256_si128(r), _mm256_extracti128_si256::<1>(r));
            // Bit i set: position at + i has no admitting bucket.
            let none = _mm_movemask_epi8(_mm_cmpeq_epi8(any, zero)) as u32;
            let mut pass = !none & 0xFFFF;
            while pass != 0 {
                f(at + pass.trailing_zeros() as usize);
                pass &= pass - 1;
            }
            cur = next;
            at += STEP;
        }
        at
    }
}

#[cfg(test)]
mod tests {
    use super::{Teddy, WIDTH};
    use proptest::prelude::*;

    fn matches_at(p: &[u8], data: &[u8], at: usize) -> bool {
        data.get(at..at + p.len())
            .is_some_and(|d| d.eq_ignore_ascii_case(p))
    }

    proptest! {
        /// The kernel reports every position where a pattern occurs (any case), and
        /// exactly the positions the portable test admits.
        #[test]
        fn reports_every_match_and_agrees_with_the_portable_test(
            patterns in proptest::collection::vec(
                proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'A'), Just(b'z'), Just(0u8), Just(0xFFu8), Just(b'@'), Just(b'`'), any::<u8>()], 1..6),
                1..40,
            ),
            data in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'A'), Just(b'Z'), Just(0u8), Just(0xFFu8), Just(b'@'), Just(b'`'), any::<u8>()], 0..300),
        ) {
            let patterns: Vec<Vec<u8>> = patterns.iter().map(|p| p.to_ascii_lowercase()).collect();
            let t = Teddy::build_tables(&patterns).expect("builds");
            let mut got = Vec::new();
            let end = t.scan(&data, |i| got.push(i));
            prop_assert!(end <= data.len());
            let admitted: Vec<usize> = (0..end).filter(|&i| i + WIDTH <= data.len() && t.admits(&data, i)).collect();
            prop_assert_eq!(&got, &admitted);
            for i in 0..end {
                if patterns.iter().any(|p| matches_at(p, &data, i)) {
                    prop_assert!(got.contains(&i), "match at {} not reported", i);
                }
            }
        }
    }
}
