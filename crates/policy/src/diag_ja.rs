//! Every diagnostic of the checker in Japanese. The checker writes its messages and
//! hints in English; each English text it can produce is a template here (`{}` for
//! each value, in order) with its Japanese text (`{0}`, `{1}`, ... for the values).
//! A value that is itself one of the checker's English phrases (a kind of TOML value,
//! "the rule", "did you mean ...?") is translated too; names, addresses and the
//! messages of other parsers stay as written. A test reads `check.rs` and
//! `management.rs` and fails when a message or hint there has no template.

/// (English template, Japanese template) of the messages, the specific before the
/// general.
pub(crate) const MESSAGES: &[(&str, &str)] = &[
    ("not valid TOML: {}", "TOML として正しくありません: {0}"),
    (
        "unknown key `{}` in {}",
        "{1} に不明なキー `{0}` があります",
    ),
    (
        "{} must be a table, found {}",
        "{0} はテーブルにしてください（{1} になっています）",
    ),
    (
        "{} must be a string, found {}",
        "{0} は文字列にしてください（{1} になっています）",
    ),
    (
        "{} must be a string or an array of strings, found {}",
        "{0} は文字列か文字列の配列にしてください（{1} になっています）",
    ),
    (
        "{} must be true or false, found {}",
        "{0} は true か false にしてください（{1} になっています）",
    ),
    (
        "{} must be an integer from {} to {}",
        "{0} は {1} から {2} までの整数にしてください",
    ),
    (
        "{} must be a port number or a range string, found {}",
        "{0} はポート番号か範囲の文字列にしてください（{1} になっています）",
    ),
    (
        "{} must be an array of tables, found {}",
        "{0} はテーブルの配列にしてください（{1} になっています）",
    ),
    (
        "{} must be a single address, `{}` is not",
        "{0} には1つのアドレスを指定してください（`{1}` は1つのアドレスではありません）",
    ),
    ("{} has no `{}`", "{0} に `{1}` がありません"),
    ("`{}` is not a valid name", "`{0}` は名前として使えません"),
    (
        "duplicate rule name `{}`",
        "ルール名 `{0}` が重複しています",
    ),
    (
        "duplicate {} name `{}`",
        "{0} の名前 `{1}` が重複しています",
    ),
    ("duplicate name `{}`", "名前 `{0}` が重複しています"),
    ("unknown zone `{}`", "ゾーン `{0}` はありません"),
    (
        "the policy has no [interfaces]",
        "ポリシーに [interfaces] がありません",
    ),
    (
        "`{}` is not a valid interface name",
        "`{0}` はインターフェース名として使えません",
    ),
    (
        "bad interface address: {}",
        "インターフェースのアドレスが正しくありません: {0}",
    ),
    (
        "an interface must be a zone name or a table, found {}",
        "インターフェースにはゾーン名かテーブルを指定してください（{0} になっています）",
    ),
    (
        "`{}` is not a valid zone name",
        "`{0}` はゾーン名として使えません",
    ),
    (
        "more than one interface has `default_route = true`",
        "`default_route = true` のインターフェースが複数あります",
    ),
    (
        "`{}` is not a valid object name",
        "`{0}` はオブジェクト名として使えません",
    ),
    (
        "a list must be a file name or a table, found {}",
        "リストにはファイル名かテーブルを指定してください（{0} になっています）",
    ),
    ("cannot use list `{}`: {}", "リスト `{0}` を使えません: {1}"),
    (
        "the contents of list `{}` were not supplied; it is treated as empty",
        "リスト `{0}` の内容が渡されていないため、空として扱います",
    ),
    ("bad address: {}", "アドレスが正しくありません: {0}"),
    (
        "unknown address object `{}`",
        "アドレスオブジェクト `{0}` はありません",
    ),
    (
        "address group `{}` is nested more than {} groups deep",
        "アドレスグループ `{0}` の入れ子が {1} 段を超えています",
    ),
    (
        "address group `{}` contains itself through `{}`",
        "アドレスグループ `{0}` が `{1}` を通して自分自身を含んでいます",
    ),
    (
        "{} lists `any` with other objects; it matches any address",
        "{0} に `any` と他のオブジェクトが並んでいます。すべてのアドレスに一致します",
    ),
    (
        "{} is empty, so nothing would match",
        "{0} が空のため、何にも一致しません",
    ),
    (
        "bad service `{}`: unknown protocol",
        "サービス `{0}` のプロトコルが不明です",
    ),
    (
        "bad service `{}`: {}",
        "サービス `{0}` が正しくありません: {1}",
    ),
    ("unknown {} type `{}`", "{0} のタイプ `{1}` はありません"),
    ("unknown service `{}`", "サービス `{0}` はありません"),
    (
        "service group `{}` is nested more than {} groups deep",
        "サービスグループ `{0}` の入れ子が {1} 段を超えています",
    ),
    (
        "service group `{}` contains itself through `{}`",
        "サービスグループ `{0}` が `{1}` を通して自分自身を含んでいます",
    ),
    (
        "the policy has no [management] section",
        "ポリシーに [management] がありません",
    ),
    (
        "management access is open to any address",
        "管理用のアクセスがすべてのアドレスに開いています",
    ),
    (
        "`center` names no address",
        "`center` にアドレスがありません",
    ),
    (
        "`{}` is not a zone pair",
        "`{0}` はゾーンの組ではありません",
    ),
    ("unknown action `{}`", "動作 `{0}` はありません"),
    (
        "bad health-check interval: {}",
        "ヘルスチェックの間隔が正しくありません: {0}",
    ),
    ("bad log prefix", "ログの接頭辞が正しくありません"),
    ("bad {}: {}", "{0} が正しくありません: {1}"),
    (
        "`rules` must be an array of tables ([[rules]]), found {}",
        "`rules` はテーブルの配列（[[rules]]）にしてください（{0} になっています）",
    ),
    (
        "`{}` is not a valid rule name",
        "`{0}` はルール名として使えません",
    ),
    (
        "traffic from the gateway itself is not filtered",
        "機器自身から出る通信はフィルターしません",
    ),
    (
        "`service` is empty, so nothing would match",
        "`service` が空のため、何にも一致しません",
    ),
    (
        "`log` must be true, false or a table, found {}",
        "`log` は true、false、テーブルのいずれかにしてください（{0} になっています）",
    ),
    (
        "{} can never match: its sources, destinations and services have no IP family in common",
        "{0} は一致することがありません: 送信元・宛先・サービスに共通の IP ファミリーがありません",
    ),
    (
        "{} can never match: its {} names no address (an empty list?)",
        "{0} は一致することがありません: {1}にアドレスがありません（空のリスト？）",
    ),
    (
        "{} is never used: {} (line {}) matches all of its traffic first",
        "{0} は使われません: {1}（{2} 行目）がその通信をすべて先に一致させます",
    ),
    (
        "`to_port` with a port range",
        "ポートの範囲に `to_port` は使えません",
    ),
    (
        "port forward from {} to {} changes the IP family",
        "{0} から {1} へのポートフォワードは IP ファミリーが変わります",
    ),
    (
        "cannot check that the port forward's target is reachable",
        "ポートフォワードの転送先に届くか確かめられません",
    ),
    (
        "port forward target {} is not reachable: it is in no interface's network",
        "ポートフォワードの転送先 {0} に届きません: どのインターフェースのネットワークにもありません",
    ),
    (
        "port forward target {} is in zone `{}`, where the traffic comes from",
        "ポートフォワードの転送先 {0} は、通信の来るゾーン `{1}` にあります",
    ),
    (
        "1:1 NAT between IPv4 and IPv6",
        "IPv4 と IPv6 の間の 1:1 NAT です",
    ),
    (
        "1:1 NAT takes {}, an address of the gateway itself: all its traffic goes to the private host",
        "1:1 NAT が機器自身のアドレス {0} を使っています: その通信はすべてプライベートのホストに送られます",
    ),
    ("unknown protocol `{}`", "プロトコル `{0}` はありません"),
    (
        "load balancer pool has no backends",
        "ロードバランサーのプールにバックエンドがありません",
    ),
    (
        "backend {}:{} listed twice",
        "バックエンド {0}:{1} が2回書かれています",
    ),
    (
        "backend {} and virtual address {} are of different IP families",
        "バックエンド {0} と仮想アドレス {1} の IP ファミリーが異なります",
    ),
    (
        "load balancer `{}` is never used: `{}` has the same address and port",
        "ロードバランサー `{0}` は使われません: `{1}` が同じアドレスとポートです",
    ),
    (
        "`{}` is only for HTTP checks",
        "`{0}` は HTTP のチェックにだけ使えます",
    ),
    (
        "`{}` is not an HTTP path",
        "`{0}` は HTTP のパスではありません",
    ),
    (
        "unknown health check `{}`",
        "ヘルスチェック `{0}` はありません",
    ),
    (
        "address object `{}` is not used",
        "アドレスオブジェクト `{0}` は使われていません",
    ),
    (
        "service `{}` is not used",
        "サービス `{0}` は使われていません",
    ),
    (
        "`center` leaves out the operations center's {} {}: the center would lose ping, SSH, SNMP and HTTPS to the gateway",
        "`center` に運用センターの{0} {1} が含まれていません: センターから機器への ping・SSH・SNMP・HTTPS が届かなくなります",
    ),
];

/// (English template, Japanese template) of the hints.
pub(crate) const HINTS: &[(&str, &str)] = &[
    (
        "see https://toml.io for the syntax",
        "書き方は https://toml.io を見てください",
    ),
    ("allowed keys: {}", "使えるキー: {0}"),
    (
        "write 443 or \"8000-8099\"",
        "443 や \"8000-8099\" のように書いてください",
    ),
    ("add `{} = ...`", "`{0} = ...` を加えてください"),
    (
        "start with a letter; letters, digits, `_` and `-`; up to 63; not any, self, tcp, udp, icmp, icmpv6",
        "英字で始め、英数字・`_`・`-` で63文字以内にしてください。any、self、tcp、udp、icmp、icmpv6 は使えません",
    ),
    (
        "start with a letter; letters, digits, `_` and `-`; up to 63",
        "英字で始め、英数字・`_`・`-` で63文字以内にしてください",
    ),
    (
        "start with a letter; letters, digits, `_` and `-`",
        "英字で始め、英数字・`_`・`-` だけを使ってください",
    ),
    (
        "{}zones come from [interfaces]; known zones: {}",
        "{0}ゾーンは [interfaces] で決まります。定義済みのゾーン: {1}",
    ),
    (
        "map each interface to a zone, e.g. [interfaces] lan0 = \"lan\"",
        "各インターフェースにゾーンを割り当ててください（例: [interfaces] lan0 = \"lan\"）",
    ),
    (
        "up to 15 letters, digits, `_`, `-` or `.`",
        "英数字・`_`・`-`・`.` で15文字以内にしてください",
    ),
    (
        "write the gateway's address with its prefix, e.g. \"192.0.2.1/24\"",
        "機器のアドレスをプレフィックス長付きで書いてください（例: \"192.0.2.1/24\"）",
    ),
    (
        "write lan0 = \"lan\" or lan0 = { zone = \"lan\", addresses = [\"192.0.2.1/24\"] }",
        "lan0 = \"lan\" または lan0 = { zone = \"lan\", addresses = [\"192.0.2.1/24\"] } と書いてください",
    ),
    (
        "lower-case letters, digits and `-`, starting with a letter; `self` and `any` are reserved",
        "英小文字で始め、英小文字・数字・`-` を使ってください。`self` と `any` は予約されています",
    ),
    ("keep one", "1つだけにしてください"),
    (
        "first defined at {}:{}; names of addresses, groups and lists share one namespace, as do services and service groups",
        "最初の定義は {0}:{1} です。アドレス・グループ・リストの名前は共通で、サービスとサービスグループの名前も共通です",
    ),
    (
        "write threats = \"threats.txt\" or threats = { file = \"threats.txt\" }",
        "threats = \"threats.txt\" または threats = { file = \"threats.txt\" } と書いてください",
    ),
    (
        "fix the list file: one address, CIDR or range per line, `#` starts a comment",
        "リストのファイルを直してください: 1行に1つのアドレス・CIDR・範囲を書き、`#` 以降はコメントです",
    ),
    (
        "give the list a `file`, or pass its contents to the compiler",
        "リストに `file` を指定するか、内容をコンパイラーに渡してください",
    ),
    (
        "write a host, CIDR or range, e.g. 192.0.2.0/24",
        "ホスト・CIDR・範囲で書いてください（例: 192.0.2.0/24）",
    ),
    (
        "`{}` is a service, not an address",
        "`{0}` はサービスで、アドレスではありません",
    ),
    (
        "`{}` is an address object, not a service",
        "`{0}` はアドレスオブジェクトで、サービスではありません",
    ),
    ("did you mean `{}`?", "`{0}` のことですか？"),
    (
        "declare it under [addresses], [address_groups] or [lists], or write an address",
        "[addresses]・[address_groups]・[lists] で定義するか、アドレスを直接書いてください",
    ),
    (
        "declare it under [services] or [service_groups], or write e.g. tcp/443",
        "[services] か [service_groups] で定義するか、tcp/443 のように直接書いてください",
    ),
    ("flatten the groups", "グループの入れ子を浅くしてください"),
    (
        "remove the cycle: a group may not contain itself, directly or through other groups",
        "循環を取り除いてください: グループは直接にも他のグループを通しても自分自身を含められません",
    ),
    ("write just \"any\"", "\"any\" だけを書いてください"),
    (
        "name at least one object, or write \"any\"",
        "オブジェクトを1つ以上書くか、\"any\" と書いてください",
    ),
    (
        "write tcp/443 or udp/1000-2000",
        "tcp/443 や udp/1000-2000 のように書いてください",
    ),
    ("known types: {}", "使えるタイプ: {0}"),
    (
        "protocols: tcp, udp, icmp, icmpv6; e.g. tcp/443",
        "プロトコルは tcp、udp、icmp、icmpv6 です（例: tcp/443）",
    ),
    (
        "name one host, e.g. 192.0.2.10",
        "ホストを1つ書いてください（例: 192.0.2.10）",
    ),
    (
        "name the operations center's addresses: [management] center = [\"203.0.113.10\"]; ping, SSH, SNMP and HTTPS from them always reach the gateway (Art. 5)",
        "運用センターのアドレスを書いてください: [management] center = [\"203.0.113.10\"]。そこからの ping・SSH・SNMP・HTTPS は常に機器に届きます（第5条）",
    ),
    (
        "name the operations center's addresses instead of `any`",
        "`any` ではなく運用センターのアドレスを書いてください",
    ),
    (
        "name the operations center's addresses",
        "運用センターのアドレスを書いてください",
    ),
    (
        "write \"lan->wan\" = \"accept\", or \"*\" for every other pair",
        "\"lan->wan\" = \"accept\" のように書くか、それ以外のすべての組には \"*\" を使ってください",
    ),
    (
        "use accept, drop or reject",
        "accept、drop、reject のいずれかにしてください",
    ),
    (
        "write e.g. \"10/second\" (units: second, minute, hour, day)",
        "\"10/second\" のように書いてください（単位: second、minute、hour、day）",
    ),
    ("first used at {}:{}", "最初に使われたのは {0}:{1} です"),
    (
        "rules filter traffic from a zone; use a zone from [interfaces]",
        "ルールはゾーンからの通信をフィルターします。[interfaces] のゾーンを指定してください",
    ),
    (
        "name at least one service, or write \"any\"",
        "サービスを1つ以上書くか、\"any\" と書いてください",
    ),
    (
        "up to 100 printable ASCII characters, no `\"` or `\\`",
        "表示可能な ASCII 文字で100文字以内にしてください（`\"` と `\\` は使えません）",
    ),
    (
        "write log = true or log = { rate = \"10/minute\" }",
        "log = true または log = { rate = \"10/minute\" } と書いてください",
    ),
    (
        "fill the list, or remove the rule",
        "リストを埋めるか、ルールを削除してください",
    ),
    (
        "check that sources and destinations are both IPv4 or both IPv6, and that ICMP services match the family",
        "送信元と宛先がどちらも IPv4 かどちらも IPv6 か、ICMP のサービスがそのファミリーに合っているか確かめてください",
    ),
    (
        "remove it, or move it above the broader rule",
        "削除するか、より広いルールの上に移してください",
    ),
    (
        "forward a single port to `to_port`, or drop `to_port` to keep the ports",
        "1つのポートを `to_port` に転送するか、`to_port` を外してポートをそのままにしてください",
    ),
    (
        "forward IPv4 to IPv4 and IPv6 to IPv6",
        "IPv4 は IPv4 へ、IPv6 は IPv6 へ転送してください",
    ),
    (
        "give the interfaces their `addresses` so targets can be checked",
        "転送先を確かめられるよう、インターフェースに `addresses` を指定してください",
    ),
    (
        "forward to a host on a network of the gateway (see [interfaces] addresses)",
        "機器のネットワーク上のホストに転送してください（[interfaces] の addresses を参照）",
    ),
    (
        "forward to a host in another zone",
        "別のゾーンのホストに転送してください",
    ),
    (
        "map an address to one of the same family",
        "同じファミリーのアドレスに対応付けてください",
    ),
    (
        "give the 1:1 NAT an address of its own (management access is kept either way)",
        "1:1 NAT には専用のアドレスを指定してください（管理用のアクセスはどちらでも保たれます）",
    ),
    ("use tcp or udp", "tcp か udp にしてください"),
    (
        "add backends = [{ address = \"192.0.2.21\", port = 443 }]",
        "backends = [{ address = \"192.0.2.21\", port = 443 }] を加えてください",
    ),
    (
        "add at least one { address = ..., port = ... }",
        "{ address = ..., port = ... } を1つ以上加えてください",
    ),
    (
        "list each backend once; use `weight` to send it more",
        "各バックエンドは1回だけ書き、多く送るには `weight` を使ってください",
    ),
    (
        "balance IPv4 over IPv4 backends, IPv6 over IPv6",
        "IPv4 は IPv4 のバックエンドに、IPv6 は IPv6 のバックエンドに振り分けてください",
    ),
    (
        "give it another address or port",
        "別のアドレスかポートにしてください",
    ),
    (
        "write e.g. \"5s\", \"500ms\" or \"1m\"",
        "\"5s\"、\"500ms\"、\"1m\" のように書いてください",
    ),
    ("set check = \"http\"", "check = \"http\" にしてください"),
    (
        "start with `/`, no spaces",
        "`/` で始め、空白を含めないでください",
    ),
    (
        "use \"tcp\" (connect) or \"http\" (GET)",
        "\"tcp\"（接続）か \"http\"（GET）にしてください",
    ),
    (
        "remove it, or use it in a rule",
        "削除するか、ルールで使ってください",
    ),
    (
        "add {} to [management] center",
        "[management] center に {0} を加えてください",
    ),
];

/// The checker's phrases that stand as values in its messages and hints.
const PHRASES: &[(&str, &str)] = &[
    ("a string", "文字列"),
    ("an integer", "整数"),
    ("a float", "小数"),
    ("a boolean", "真偽値"),
    ("a date", "日付"),
    ("an array", "配列"),
    ("a table", "テーブル"),
    ("the interface", "インターフェース"),
    ("an interface", "インターフェース"),
    ("the rule", "ルール"),
    ("a rule", "ルール"),
    ("the SNAT rule", "SNAT の指定"),
    ("the port forward", "ポートフォワード"),
    ("the 1:1 NAT", "1:1 NAT"),
    ("the load balancer", "ロードバランサー"),
    ("the backend", "バックエンド"),
    ("source", "送信元"),
    ("destination", "宛先"),
    ("address", "アドレス"),
    ("addresses", "アドレス"),
    ("(none)", "（なし）"),
    ("unknown protocol", "不明なプロトコルです"),
    ("did you mean `{}`? ", "`{0}` のことですか？ "),
    ("rule #{}", "ルール #{0}"),
    (
        "`{}` is outside 100ms to 60m",
        "`{0}` が 100ms〜60m の範囲外です",
    ),
];

/// The values of `text` in the holes of `template` (`{}`), or `None` when it does
/// not have that form. A hole takes the shortest text up to the next literal part; the
/// last literal part ends the text.
fn captures(template: &str, text: &str) -> Option<Vec<String>> {
    let parts: Vec<&str> = template.split("{}").collect();
    let first = parts[0];
    let mut rest = text.strip_prefix(first)?;
    if parts.len() == 1 {
        return rest.is_empty().then(Vec::new);
    }
    let mut values = Vec::new();
    for (i, lit) in parts.iter().enumerate().skip(1) {
        let last = i == parts.len() - 1;
        let at = if last {
            if lit.is_empty() {
                rest.len()
            } else {
                rest.strip_suffix(lit).map(str::len)?
            }
        } else if lit.is_empty() {
            return None;
        } else {
            rest.find(lit)?
        };
        values.push(rest[..at].to_string());
        rest = &rest[at + lit.len()..];
    }
    Some(values)
}

/// `text` through `table`: the Japanese template of the first English template it has
/// the form of, its values translated as phrases where they are one.
fn through(table: &[(&str, &str)], text: &str) -> Option<String> {
    for (en, ja) in table {
        if let Some(values) = captures(en, text) {
            let mut out = (*ja).to_string();
            for (i, v) in values.iter().enumerate() {
                let v = phrase(v).unwrap_or_else(|| v.clone());
                out = out.replace(&format!("{{{i}}}"), &v);
            }
            return Some(out);
        }
    }
    None
}

fn phrase(v: &str) -> Option<String> {
    through(PHRASES, v)
}

/// The Japanese of a diagnostic's message, if the checker's templates know it.
pub(crate) fn message(text: &str) -> Option<String> {
    through(MESSAGES, text)
}

/// The Japanese of a diagnostic's hint, if the checker's templates know it.
pub(crate) fn hint(text: &str) -> Option<String> {
    through(HINTS, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_go_into_their_places() {
        assert_eq!(
            message("unknown key `x` in the rule").as_deref(),
            Some("ルール に不明なキー `x` があります")
        );
        assert_eq!(
            message("`port` must be an integer from 1 to 65535").as_deref(),
            Some("`port` は 1 から 65535 までの整数にしてください")
        );
        assert_eq!(
            hint("did you mean `lan`? zones come from [interfaces]; known zones: lan, wan")
                .as_deref(),
            Some(
                "`lan` のことですか？ ゾーンは [interfaces] で決まります。定義済みのゾーン: lan, wan"
            )
        );
        assert_eq!(message("something else entirely"), None);
    }

    /// Every message and hint literal of the checker's sources has a template: a new
    /// English-only diagnostic fails here.
    #[test]
    fn every_diagnostic_of_the_sources_has_a_template() {
        let mut missing = Vec::new();
        let mut seen = 0;
        for src in [include_str!("check.rs"), include_str!("management.rs")] {
            for (text, is_hint) in literals(src).into_iter().filter(|(t, _)| !t.is_empty()) {
                seen += 1;
                let table = if is_hint { HINTS } else { MESSAGES };
                if !table.iter().any(|(en, _)| *en == text) {
                    missing.push(text);
                }
            }
        }
        // The reading of the sources finds the checker's diagnostics (74 calls, most
        // with a hint), not none.
        assert!(seen > 120, "{seen}");
        assert!(missing.is_empty(), "no Japanese for: {missing:#?}");
    }

    /// The message and hint templates of every `.error(`, `.warning(` and
    /// `sink.push(` of a diagnostic in `src`, and of the messages and hints built
    /// before such a call (`unused.push`, `let hint = ...`).
    fn literals(src: &str) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        // (call, index of the message argument): the hint is the next one.
        for (call, m) in [(".error(", 1), (".warning(", 1), ("sink.push(", 2)] {
            let mut i = 0;
            while let Some(p) = src[i..].find(call) {
                let start = i + p + call.len();
                let end = close(src, start);
                let a = args(&src[start..end - 1]);
                if let Some(t) = a.get(m).and_then(|x| literal(x)) {
                    out.push((t, false));
                }
                if let Some(t) = a.get(m + 1).and_then(|x| literal(x)) {
                    out.push((t, true));
                }
                i = end;
            }
        }
        for (marker, is_hint) in [("unused.push((span, ", false), ("let hint = if ", true)] {
            let mut i = 0;
            while let Some(p) = src[i..].find(marker) {
                let start = i + p + marker.len();
                let end = src[start..].find(';').map_or(src.len(), |e| start + e);
                let mut j = start;
                while let Some(q) = src[j..end].find("format!(") {
                    let at = j + q;
                    if let Some(t) = literal(&src[at..end]) {
                        out.push((t, is_hint));
                    }
                    j = at + 1;
                }
                for piece in src[start..end].split("else") {
                    let piece = piece.trim().trim_start_matches('{').trim();
                    if piece.starts_with('"')
                        && let Some(t) = literal(piece)
                    {
                        out.push((t, is_hint));
                    }
                }
                i = end;
            }
        }
        out
    }

    /// The index just past the `)` closing the call whose arguments start at `from`.
    fn close(src: &str, from: usize) -> usize {
        let b = src.as_bytes();
        let (mut depth, mut i) = (1, from);
        while i < b.len() && depth > 0 {
            match b[i] {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth -= 1,
                b'"' => i = skip_string(b, i),
                _ => {}
            }
            i += 1;
        }
        i
    }

    /// The index of the `"` ending the string literal that starts at `i`.
    fn skip_string(b: &[u8], mut i: usize) -> usize {
        i += 1;
        while i < b.len() && b[i] != b'"' {
            if b[i] == b'\\' {
                i += 1;
            }
            i += 1;
        }
        i
    }

    /// The arguments of a call, split at its own commas.
    fn args(code: &str) -> Vec<&str> {
        let b = code.as_bytes();
        let (mut depth, mut i, mut from) = (0, 0, 0);
        let mut out = Vec::new();
        while i < b.len() {
            match b[i] {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth -= 1,
                b'"' => i = skip_string(b, i),
                b',' if depth == 0 => {
                    out.push(code[from..i].trim());
                    from = i + 1;
                }
                _ => {}
            }
            i += 1;
        }
        out.push(code[from..].trim());
        out
    }

    /// The template of an argument that is a string literal or a `format!` (behind
    /// `&` or `Some(`): a format string with its `{...}` made `{}`.
    fn literal(arg: &str) -> Option<String> {
        let a = arg.trim().trim_start_matches('&');
        let a = a.strip_prefix("Some(").unwrap_or(a).trim();
        let (rest, is_format) = match a.strip_prefix("format!(") {
            Some(r) => (r.trim_start(), true),
            None => (a, false),
        };
        if !rest.starts_with('"') {
            return None;
        }
        let b = rest.as_bytes();
        let end = skip_string(b, 0);
        let mut s = String::new();
        let mut i = 1;
        while i < end {
            if b[i] == b'\\' {
                i += 1;
                s.push(b[i] as char);
                i += 1;
            } else {
                let ch = rest[i..].chars().next()?;
                s.push(ch);
                i += ch.len_utf8();
            }
        }
        Some(if is_format { template(&s) } else { s })
    }

    /// A format string made a template: every `{...}` a `{}`, `{{`/`}}` as braces.
    fn template(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    out.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    out.push('}');
                }
                '{' => {
                    for d in chars.by_ref() {
                        if d == '}' {
                            break;
                        }
                    }
                    out.push_str("{}");
                }
                _ => out.push(c),
            }
        }
        out
    }
}
