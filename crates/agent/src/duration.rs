//! Durations on the command line: `500ms`, `60s`, `2m`, `1h`, or a bare number of seconds.

use std::time::Duration;

/// Parses a duration; the error says what is wrong and gives examples.
pub fn parse(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (examples: 60s, 500ms, 2m)"))?;
    let factor = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => {
            return Err(format!(
                "`{s}`: unknown unit `{unit}` (use ms, s, m, h or d)"
            ));
        }
    };
    let ms = n
        .checked_mul(factor)
        .ok_or_else(|| format!("`{s}` is too long a duration"))?;
    Ok(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_bare_seconds() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("10d"), Ok(Duration::from_secs(864_000)));
        assert_eq!(parse("7"), Ok(Duration::from_secs(7)));
        assert!(parse("5q").unwrap_err().contains("unknown unit `q`"));
        assert!(parse("s").unwrap_err().contains("not a duration"));
        assert!(
            parse("99999999999999999h")
                .unwrap_err()
                .contains("too long")
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in ".{0,40}") {
            let _ = parse(&s);
        }

        #[test]
        fn milliseconds_round_trip(n in 0u64..1_000_000_000) {
            proptest::prop_assert_eq!(parse(&format!("{n}ms")), Ok(Duration::from_millis(n)));
        }
    }
}
