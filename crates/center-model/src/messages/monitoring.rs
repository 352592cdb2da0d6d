//! The monitoring's words: the notification mails of incidents. A mail to the
//! operations center carries both languages, Japanese first.

crate::messages! {
    /// The subject and body of an incident's notification.
    pub enum IncidentMail {
        OpenedSubject { severity: String, summary: String } => (
            format!("[Mamori] インシデント発生（{severity}）: {summary}"),
            format!("[Mamori] Incident opened ({severity}): {summary}"),
        ),
        OpenedBody { id: i64, customer: String, site: String, key: String, summary: String, at: String } => (
            format!("インシデント {id} が発生しました。\n顧客: {customer}\n拠点: {site}\n問題: {key}\n内容: {summary}\n発生日時: {at}"),
            format!("Incident {id} opened.\nCustomer: {customer}\nSite: {site}\nProblem: {key}\nWhat: {summary}\nOpened at: {at}"),
        ),
        ResolvedSubject { summary: String } => (
            format!("[Mamori] インシデント解決: {summary}"),
            format!("[Mamori] Incident resolved: {summary}"),
        ),
        ResolvedBody { id: i64, customer: String, site: String, key: String, minutes: i64, at: String } => (
            format!("インシデント {id} は解決しました（{minutes} 分間）。\n顧客: {customer}\n拠点: {site}\n問題: {key}\n解決日時: {at}"),
            format!("Incident {id} resolved after {minutes} min.\nCustomer: {customer}\nSite: {site}\nProblem: {key}\nResolved at: {at}"),
        ),
    }
}

impl IncidentMail {
    /// The text in both languages, Japanese first (a subject on one line).
    pub fn both(&self, separator: &str) -> String {
        use crate::messages::Lang;
        format!("{}{separator}{}", self.text(Lang::Ja), self.text(Lang::En))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::Lang;

    #[test]
    fn every_mail_text_has_both_languages() {
        for m in IncidentMail::examples() {
            let (ja, en) = (m.text(Lang::Ja), m.text(Lang::En));
            assert!(
                ja.chars().any(|c| ('\u{3040}'..='\u{30ff}').contains(&c)
                    || ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{m:?}: {ja}"
            );
            assert!(en.is_ascii(), "{m:?}: {en}");
            assert_eq!(m.both(" / "), format!("{ja} / {en}"));
        }
    }
}
