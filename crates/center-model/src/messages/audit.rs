//! The audit trail's actions as a reader sees them: what each recorded action code
//! (`user.create`, `revision.publish`, ...) means, in both languages. The code itself
//! stays in the trail (it is hashed into the chain); this is only its summary.

/// Declares the actions: each with its code and its summary in both languages.
macro_rules! actions {
    ( $( $variant:ident = $code:literal => ($ja:literal, $en:literal) ),* $(,)? ) => {
        /// An action the audit trail records.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum AuditAction {
            $( $variant, )*
        }

        impl AuditAction {
            /// Every action.
            pub const ALL: &'static [AuditAction] = &[ $( AuditAction::$variant, )* ];

            /// The code the trail records.
            pub fn code(self) -> &'static str {
                match self { $( AuditAction::$variant => $code, )* }
            }

            /// The summary in `lang`.
            pub fn text(self, lang: super::Lang) -> &'static str {
                match self {
                    $( AuditAction::$variant => lang.pick($ja, $en), )*
                }
            }
        }
    };
}

actions! {
    Signin = "signin" => ("サインイン", "Sign-in"),
    Signout = "signout" => ("サインアウト", "Sign-out"),
    SigninLockNotice = "signin.lock_notice" => ("アカウントのロックの通知", "Account lock notice"),
    AccountSetup = "account.setup" => ("アカウントの設定", "Account set up"),
    BootstrapAdmin = "bootstrap.admin" => ("最初の管理者の作成", "First administrator created"),
    BootstrapLink = "bootstrap.link" => ("最初の管理者の設定リンクの発行", "First administrator's set-up link issued"),
    UserCreate = "user.create" => ("ユーザーの作成", "User created"),
    UserActivate = "user.activate" => ("ユーザーの有効化", "User activated"),
    UserDeactivate = "user.deactivate" => ("ユーザーの無効化", "User deactivated"),
    UserRole = "user.role" => ("役割の変更", "Role changed"),
    UserLocale = "user.locale" => ("表示言語の変更", "Language changed"),
    CustomerCreate = "customer.create" => ("顧客の作成", "Customer created"),
    SiteCreate = "site.create" => ("拠点の作成", "Site created"),
    InstructionSubmit = "instruction.submit" => ("指示の送信", "Instruction submitted"),
    InstructionAccept = "instruction.accept" => ("指示の受付", "Instruction accepted"),
    InstructionReject = "instruction.reject" => ("指示の却下", "Instruction rejected"),
    InstructionDone = "instruction.done" => ("指示の完了", "Instruction done"),
    InstructionComment = "instruction.comment" => ("指示へのコメント", "Comment on an instruction"),
    TokenCreate = "token.create" => ("API トークンの発行", "API token issued"),
    TokenRevoke = "token.revoke" => ("API トークンの取り消し", "API token revoked"),
    EquipmentStock = "equipment.stock" => ("機器の登録", "Equipment added to stock"),
    EquipmentMove = "equipment.move" => ("機器の移動", "Equipment moved"),
    AgentTokenCreate = "agent.token.create" => ("登録トークンの発行", "Enrolment token issued"),
    AgentEnrol = "agent.enrol" => ("機器の登録（エージェント）", "Agent enrolled"),
    AgentRenew = "agent.renew" => ("エージェント証明書の更新", "Agent certificate renewed"),
    AgentRequest = "agent.request" => ("エージェントの要求", "Agent request"),
    RevisionDraft = "revision.draft" => ("リビジョンの作成", "Revision drafted"),
    RevisionApprove = "revision.approve" => ("リビジョンの承認", "Revision approved"),
    RevisionReject = "revision.reject" => ("リビジョンの却下", "Revision rejected"),
    RevisionPublish = "revision.publish" => ("リビジョンの公開", "Revision published"),
    RevisionRollback = "revision.rollback" => ("リビジョンの差し戻し", "Revision rolled back"),
    ApplicationCreate = "application.create" => ("お申込みの登録", "Application recorded"),
    ApplicationChange = "application.change" => ("お申込みの変更", "Application changed"),
    ApplicationAccept = "application.accept" => ("お申込みの承諾", "Application accepted"),
    ApplicationRefuse = "application.refuse" => ("お申込みのお断り", "Application refused"),
    ContractCancel = "contract.cancel" => ("契約の解約", "Contract cancelled"),
    ContractTerminate = "contract.terminate" => ("契約の解除", "Contract terminated"),
    ContractLendUnit = "contract.lend_unit" => ("契約による機器の貸与", "Equipment lent under a contract"),
    ContractTakeBackUnit = "contract.take_back_unit" => ("契約終了による機器の返却", "Equipment taken back"),
    ContractLiabilityCap = "contract.liability_cap" => ("賠償額の上限の算定", "Liability cap computed"),
    InvoiceRun = "invoice.run" => ("請求書の発行", "Invoices issued"),
    PaymentRecord = "payment.record" => ("入金の記録", "Payment recorded"),
    NoticeCreate = "notice.create" => ("通知の作成", "Notice created"),
    NoticeSend = "notice.send" => ("通知の送信", "Notice sent"),
    SecretsEncrypt = "secrets.encrypt" => ("保存された秘密情報の暗号化", "Stored secrets encrypted"),
    IncidentOpen = "incident.open" => ("インシデントの発生", "Incident opened"),
    IncidentAcknowledge = "incident.acknowledge" => ("インシデントの確認", "Incident acknowledged"),
    IncidentResolve = "incident.resolve" => ("インシデントの解決", "Incident resolved"),
    IncidentComment = "incident.comment" => ("インシデントへのコメント", "Comment on an incident"),
    IncidentNotify = "incident.notify" => ("インシデントの通知メール", "Incident notification mailed"),
}

impl AuditAction {
    /// The action recorded as `code`, if it is one.
    pub fn from_code(code: &str) -> Option<AuditAction> {
        AuditAction::ALL.iter().copied().find(|a| a.code() == code)
    }
}

/// The summary of an audit entry's action in `lang`: the catalog's words, or the code
/// itself for an action this version does not know.
pub fn summary(code: &str, lang: super::Lang) -> String {
    match AuditAction::from_code(code) {
        Some(a) => a.text(lang).to_string(),
        None => code.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::Lang;

    #[test]
    fn every_action_has_both_summaries_and_one_code() {
        let mut codes = std::collections::BTreeSet::new();
        for a in AuditAction::ALL {
            assert!(codes.insert(a.code()), "{} twice", a.code());
            assert!(!a.text(Lang::Ja).is_empty() && !a.text(Lang::En).is_empty());
            assert_eq!(AuditAction::from_code(a.code()), Some(*a));
        }
        assert_eq!(summary("user.create", Lang::Ja), "ユーザーの作成");
        assert_eq!(summary("something.new", Lang::Ja), "something.new");
    }
}
