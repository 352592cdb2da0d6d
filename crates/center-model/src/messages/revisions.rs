//! The summary of what changes between two configuration revisions, as the revision
//! view and the API show it.

use super::Lang;
use super::errors::Example;

crate::catalog! {
    /// The kinds of item a change summary names.
    pub enum ChangeItem {
        Interface => ("インターフェース", "interface"),
        Default => ("ゾーン間の既定動作", "default"),
        Masquerade => ("マスカレード", "masquerade"),
        SourceNat => ("送信元 NAT", "source NAT"),
        PortForward => ("ポートフォワード", "port forward"),
        OneToOne => ("1:1 NAT の対応", "1:1 NAT"),
        LoadBalancer => ("ロードバランサー", "load balancer"),
    }
}

impl Example for ChangeItem {
    fn example() -> Self {
        ChangeItem::Interface
    }
}

crate::messages! {
    /// One line of a change summary.
    pub enum ChangeText {
        Added { item: ChangeItem, name: String } => (
            format!("{} {name} を追加", item.text(Lang::Ja)),
            format!("{} {name} added", item.text(Lang::En)),
        ),
        Removed { item: ChangeItem, name: String } => (
            format!("{} {name} を削除", item.text(Lang::Ja)),
            format!("{} {name} removed", item.text(Lang::En)),
        ),
        Changed { item: ChangeItem, name: String } => (
            format!("{} {name} を変更", item.text(Lang::Ja)),
            format!("{} {name} changed", item.text(Lang::En)),
        ),
        DefaultAction { from: String, to: String } => (
            format!("既定の動作 {from} → {to}"),
            format!("default action {from} → {to}"),
        ),
        SyslogChanged => ("syslog の送信先を変更", "syslog target changed"),
        SnmpUserAdded { user: String } => (
            format!("SNMP ユーザー {user} を追加"),
            format!("SNMP user {user} added"),
        ),
        SnmpUserRemoved { user: String } => (
            format!("SNMP ユーザー {user} を削除"),
            format!("SNMP user {user} removed"),
        ),
        SnmpAlgorithms { user: String } => (
            format!("SNMP ユーザー {user}: 方式を変更"),
            format!("SNMP user {user}: algorithms changed"),
        ),
        SnmpPassPhrase { user: String } => (
            format!("SNMP ユーザー {user}: パスフレーズを変更"),
            format!("SNMP user {user}: pass phrase changed"),
        ),
        NtpChanged => ("NTP サーバーを変更", "NTP servers changed"),
        DnsChanged => ("DNS サーバーを変更", "DNS servers changed"),
        Unavailable => (
            "どちらかのポリシーにエラーがあるため比較できません",
            "one of the two policies does not check",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_text_has_both() {
        for m in ChangeText::examples() {
            for l in Lang::ALL {
                assert!(!m.text(l).trim().is_empty(), "{m:?}");
            }
            assert_ne!(m.text(Lang::Ja), m.text(Lang::En));
        }
    }
}
