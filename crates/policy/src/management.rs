//! Whether a policy keeps the operations center's management access: the center knows
//! its own addresses (its configuration), the document only names `[management]
//! center`. A policy that leaves one of them out would be applied and proven (the
//! agent's own outbound channel still works) while the center silently lost ping, SSH,
//! SNMP and HTTPS to the gateway.

use toml::de::DeTable;

use crate::addr::{IpRange, IpSet};
use crate::check::{as_table, get};
use crate::diag::{Diagnostic, Severity, Sink};
use crate::model::Policy;

/// The operations center's addresses a policy leaves out of `[management] center`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagementGap {
    /// The entries of `required` not wholly inside the policy's management set, in the
    /// order given.
    pub missing: Vec<IpRange>,
    /// Names them, at `center` (or at `[management]`, or the document's start, when
    /// those are absent), with the severity asked for.
    pub diagnostic: Diagnostic,
}

/// The entries of `required` (the operations center's addresses and networks) that the
/// checked `policy` of document `src` does not wholly admit as management sources;
/// `None` when it admits all of them (or `required` is empty).
pub fn management_gap(
    src: &str,
    policy: &Policy,
    required: &[IpRange],
    severity: Severity,
) -> Option<ManagementGap> {
    let missing: Vec<IpRange> = required
        .iter()
        .filter(|r| !policy.management.is_superset(&IpSet::from_ranges([**r])))
        .copied()
        .collect();
    if missing.is_empty() {
        return None;
    }
    let (doc, _) = DeTable::parse_recoverable(src);
    let span = match get(doc.get_ref(), "management") {
        Some(m) => as_table(m)
            .and_then(|t| get(t, "center"))
            .map_or_else(|| m.span(), |c| c.span()),
        None => 0..0,
    };
    let list: Vec<String> = missing.iter().map(|r| r.to_string()).collect();
    let quoted: Vec<String> = list.iter().map(|a| format!("\"{a}\"")).collect();
    let mut sink = Sink::new(src);
    sink.push(
        severity,
        span,
        format!(
            "`center` leaves out the operations center's {} {}: the center would lose ping, SSH, SNMP and HTTPS to the gateway",
            if missing.len() == 1 {
                "address"
            } else {
                "addresses"
            },
            list.join(", ")
        ),
        Some(format!(
            "add {} to [management] center",
            quoted.join(", ")
        )),
    );
    let diagnostic = sink.diags.pop()?;
    Some(ManagementGap {
        missing,
        diagnostic,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::parse_range;
    use crate::{Lists, check};

    const DOC: &str = "[interfaces]\nwan0 = { zone = \"wan\", addresses = [\"198.51.100.1/24\"], default_route = true }\n\n[management]\ncenter = [\"203.0.113.10\", \"2001:db8:ff::/48\"]\n";

    fn gap(src: &str, required: &[&str]) -> Option<ManagementGap> {
        let p = check(src, &Lists::new()).policy.unwrap();
        let r: Vec<IpRange> = required.iter().map(|a| parse_range(a).unwrap()).collect();
        management_gap(src, &p, &r, Severity::Error)
    }

    #[test]
    fn addresses_inside_the_management_set_are_no_gap() {
        assert_eq!(gap(DOC, &[]), None);
        assert_eq!(gap(DOC, &["203.0.113.10", "2001:db8:ff:1::/64"]), None);
        let any = DOC.replace(
            "center = [\"203.0.113.10\", \"2001:db8:ff::/48\"]",
            "center = \"any\"",
        );
        assert_eq!(gap(&any, &["192.0.2.0/24", "2001:db8::/32"]), None);
    }

    #[test]
    fn a_gap_names_what_is_missing_at_center() {
        // A network only partly inside is missing as a whole, in the order given.
        let g = gap(
            DOC,
            &[
                "203.0.113.10",
                "203.0.113.0/28",
                "2001:db8::/64",
                "2001:db8:ff::7",
            ],
        )
        .unwrap();
        assert_eq!(
            g.missing.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            ["203.0.113.0/28", "2001:db8::/64"]
        );
        let d = &g.diagnostic;
        assert_eq!((d.line, d.column, d.severity), (5, 10, Severity::Error));
        assert!(
            d.message
                .contains("addresses 203.0.113.0/28, 2001:db8::/64"),
            "{}",
            d.message
        );
        assert!(d.message.contains("ping, SSH, SNMP and HTTPS"));
        assert_eq!(
            d.hint.as_deref(),
            Some("add \"203.0.113.0/28\", \"2001:db8::/64\" to [management] center")
        );
    }
}
