//! The center's errors as a user reads them: the fields a form or request names, why
//! a field was refused, what a role may not do, what conflicts with the current state,
//! why a sign-in was refused and what was tried too often. `AppError::text(lang)` in
//! the center turns an error into one of these texts, for the panel's error page, the
//! API's problem `detail` and the command line alike.
//!
//! Conventions: the Japanese text of an [`Invalid`] is a whole sentence naming the
//! field; its English text is what follows the field's wire name (`email: must not be
//! empty`), as the API has always said it.

use super::Lang;

/// Declares fields: each with its wire name (the API's JSON member, the form's input)
/// and its name for a reader in both languages.
macro_rules! fields {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal => ($ja:literal, $en:literal) ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $name {
            /// Every field.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )* ];

            /// The wire name: the JSON member or form input this field is.
            pub fn code(self) -> &'static str {
                match self { $( $name::$variant => $code, )* }
            }

            /// The field's name for a reader of `lang`.
            pub fn text(self, lang: Lang) -> &'static str {
                match self {
                    $( $name::$variant => match lang { Lang::Ja => $ja, Lang::En => $en }, )*
                }
            }
        }
    };
}

/// Declares one area's messages with values: an enum whose variants may carry fields
/// (names, numbers, dates as text), each with its Japanese and English text, which may
/// use the fields. A variant without both texts does not compile. `examples()` gives
/// every variant once (with [`Example`] values) for the catalog's tests.
///
/// ```
/// mamori_center_model::messages! {
///     /// Words of an example.
///     pub enum Example {
///         Saved { n: usize } => (format!("{n}件を保存しました。"), format!("saved {n}")),
///         Nothing => ("ありません。", "nothing"),
///     }
/// }
/// use mamori_center_model::messages::Lang;
/// assert_eq!(Example::Saved { n: 2 }.text(Lang::Ja), "2件を保存しました。");
/// assert_eq!(Example::examples().len(), 2);
/// ```
#[macro_export]
macro_rules! messages {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident $({ $($f:ident : $t:ty),* $(,)? })? => ($ja:expr, $en:expr $(,)?) ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant $({ $($f: $t),* })?, )*
        }

        impl $name {
            /// Every message once, with example values (for the catalog's tests).
            pub fn examples() -> ::std::vec::Vec<$name> {
                ::std::vec![ $( $name::$variant $({ $($f: $crate::messages::errors::Example::example()),* })?, )* ]
            }

            /// The text in `lang`.
            pub fn text(&self, lang: $crate::messages::Lang) -> ::std::string::String {
                match self {
                    $( $name::$variant $({ $($f),* })? => match lang {
                        $crate::messages::Lang::Ja => ::std::string::ToString::to_string(&$ja),
                        $crate::messages::Lang::En => ::std::string::ToString::to_string(&$en),
                    }, )*
                }
            }
        }
    };
}

/// A value for the examples of [`messages!`] enums: not empty, so that a text made
/// only of a value still shows in the catalog's tests.
pub trait Example {
    fn example() -> Self;
}

impl Example for String {
    fn example() -> Self {
        "x".into()
    }
}

impl Example for &'static str {
    fn example() -> Self {
        "x"
    }
}

macro_rules! example_numbers {
    ($($t:ty),*) => { $( impl Example for $t { fn example() -> Self { 1 } } )* };
}
example_numbers!(i64, u32, usize);

impl Example for Field {
    fn example() -> Self {
        Field::Subject
    }
}

fields! {
    /// A field of a form or request that an error names.
    pub enum Field {
        /// A field without a name of its own.
        #[default]
        Other = "input" => ("入力項目", "field"),
        Email = "email" => ("メールアドレス", "e-mail address"),
        DisplayName = "display_name" => ("氏名", "name"),
        Name = "name" => ("名前", "name"),
        Address = "address" => ("住所", "address"),
        Serial = "serial" => ("シリアル番号", "serial number"),
        Model = "model" => ("型番", "model"),
        Subject = "subject" => ("件名", "subject"),
        Body = "body" => ("本文", "body"),
        Summary = "summary" => ("概要", "summary"),
        Reason = "reason" => ("理由", "reason"),
        /// The reason given for a configuration revision.
        ChangeReason = "reason" => ("変更理由", "reason for the change"),
        /// The note of a refused review.
        ReviewNote = "note" => ("却下の理由", "reason for the refusal"),
        /// The comment of an approving review.
        ReviewComment = "note" => ("コメント", "comment"),
        Note = "note" => ("備考", "note"),
        Password = "password" => ("パスワード", "password"),
        TotpCode = "totp_code" => ("確認コード", "code"),
        Role = "role" => ("役割", "role"),
        CustomerId = "customer_id" => ("顧客", "customer"),
        SiteId = "site_id" => ("拠点", "site"),
        Locale = "locale" => ("表示言語", "language"),
        Kind = "kind" => ("種類", "kind"),
        ExpiresInDays = "expires_in_days" => ("有効期限（日数）", "validity in days"),
        /// The state equipment is moved to.
        To = "to" => ("移動先の状態", "new state"),
        InterestBasisPoints = "interest_basis_points" => ("遅延損害金の利率", "late-payment interest rate"),
        MonthlyFee = "monthly_fee" => ("月額料金", "monthly fee"),
        Amount = "amount" => ("金額", "amount"),
        Total = "total" => ("請求額", "total"),
        Start = "start" => ("サービス開始日", "service start"),
        End = "end" => ("終了日", "end date"),
        /// The date a payment was received.
        Date = "date" => ("入金日", "payment date"),
        Month = "month" => ("対象月", "month"),
        NoticeDate = "notice_date" => ("事前通知日", "notice date"),
        CauseDate = "cause_date" => ("損害の原因が生じた日", "date of the cause"),
        EffectiveDate = "effective_date" => ("効力発生日", "effective date"),
        LineId = "line_id" => ("回線ID", "line ID"),
        LineProduct = "line_product" => ("アクセス回線", "access line"),
        Replaces = "replaces" => ("変更するお申込み", "application replaced"),
        /// The equipment lent under a contract.
        Equipment = "equipment" => ("貸与機器", "equipment"),
        Customers = "customers" => ("送付先", "recipients"),
        TtlMinutes = "ttl_minutes" => ("有効期間", "validity"),
        EquipmentId = "equipment_id" => ("機器", "equipment"),
        Reports = "reports" => ("報告", "reports"),
        ReportId = "report_id" => ("報告ID", "report ID"),
        PolicyText = "policy_text" => ("ポリシー", "policy"),
        Settings = "settings" => ("設定", "settings"),
        SyslogPort = "syslog_port" => ("syslog のポート", "syslog port"),
        Snmp = "snmp" => ("SNMP ユーザー", "SNMP users"),
        InstructionId = "instruction_id" => ("指示", "instruction"),
    }
}

impl Field {
    /// The field with wire name `code` (the first such), or [`Field::Other`].
    pub fn from_code(code: &str) -> Field {
        Field::ALL
            .iter()
            .copied()
            .find(|f| f.code() == code)
            .unwrap_or(Field::Other)
    }
}

crate::messages! {
    /// Why the value of a field was refused.
    pub enum Invalid {
        Empty { field: Field } => (
            format!("{}を入力してください。", field.text(Lang::Ja)),
            "must not be empty",
        ),
        TooLong { field: Field, n: usize, max: usize } => (
            format!("{}が{n}文字あります。{max}文字以内で入力してください。", field.text(Lang::Ja)),
            format!("is {n} characters long; at most {max} are allowed"),
        ),
        LongerThan { field: Field, max: usize } => (
            format!("{}は{max}文字以内にしてください。", field.text(Lang::Ja)),
            format!("is longer than {max} characters"),
        ),
        ControlCharacter { field: Field, c: u32 } => (
            format!("{}に制御文字 U+{c:04X} が含まれています。取り除いてください。", field.text(Lang::Ja)),
            format!("contains the control character U+{c:04X}"),
        ),
        BidiControl { field: Field, c: u32 } => (
            format!("{}に表示順を入れ替える文字 U+{c:04X} が含まれています。取り除いてください。", field.text(Lang::Ja)),
            format!("contains U+{c:04X}, which changes the order in which text is shown; remove it"),
        ),
        OnlyInvisible { field: Field } => (
            format!("{}が空白や幅のない文字だけです。見える文字で入力してください。", field.text(Lang::Ja)),
            "holds only spaces or zero-width characters; type something visible",
        ),
        OneLine { field: Field } => (
            format!("{}は1行にしてください。", field.text(Lang::Ja)),
            "must be one line",
        ),
        NotAnEmail => (
            "メールアドレスの形式が正しくありません（例: name@example.jp）。",
            "is not an e-mail address (expected name@example.jp)",
        ),
        PasswordTooShort { n: usize } => (
            format!("パスワードが{n}文字しかありません。12文字以上にしてください。"),
            format!("has {n} characters; use at least 12"),
        ),
        PasswordTooLong => (
            "パスワードは1024文字以内にしてください。",
            "is longer than 1024 characters",
        ),
        TotpMismatch => (
            "確認コードが一致しません。認証アプリの時刻を確かめ、現在の6桁のコードを入力してください。",
            "does not match; check the authenticator app's clock and enter the current 6-digit code",
        ),
        TotpNeeded => (
            "この役割には確認コードが必要です。秘密鍵を認証アプリに登録し、表示される6桁のコードを入力してください。",
            "is required for this role: add the secret to an authenticator app and enter its 6-digit code",
        ),
        EmailUnusable => (
            "このメールアドレスは新しいアカウントに使えません。別のアドレスを指定してください。",
            "cannot be used for a new account; use another address",
        ),
        NotARoleForUser { role: String } => (
            format!("役割 {role:?} はありません。admin、operator、coordinator、back_office、officer、staff のいずれかを指定してください。"),
            format!("{role:?} is not a role; use admin, operator, coordinator, back_office, officer or staff"),
        ),
        NotARole { role: String } => (
            format!("役割 {role:?} はありません。"),
            format!("{role:?} is not a role"),
        ),
        ProviderHasNoCustomer => (
            "事業者の担当者はどの顧客にも属しません。顧客を指定しないでください。",
            "provider staff belong to no customer; leave it out",
        ),
        CustomerUserNeedsCustomer => (
            "セキュリティ責任者とスタッフは顧客に属します。顧客の ID を指定してください。",
            "officers and staff belong to a customer; give its id",
        ),
        OnlyProviderRolesChange => (
            "役割を変更できるのは事業者の担当者（admin、operator、coordinator、back_office）だけです。",
            "only provider staff change roles (admin, operator, coordinator, back_office)",
        ),
        OwnAdminRole => (
            "管理者は自分自身の管理者役割を外せません。",
            "administrators cannot remove their own administrator role",
        ),
        NotALocale => (
            "表示言語には ja か en を指定してください。",
            "use ja or en",
        ),
        NotAnInstructionKind { kind: String } => (
            format!("種類 {kind:?} はありません。policy_change、maintenance_request、question、other のいずれかを指定してください。"),
            format!("{kind:?} is not a kind; use policy_change, maintenance_request, question or other"),
        ),
        RejectionNeedsReason => (
            "却下するには理由を入力してください。",
            "a rejection needs a reason",
        ),
        TokenDays { days: i64 } => (
            format!("有効期限（日数）が {days} です。1から3650までの日数を指定するか、取り消すまで有効なトークンにするなら指定しないでください。"),
            format!("is {days}; give a number of days from 1 to 3650, or leave it out for a token that lasts until revoked"),
        ),
        NotANumber { field: Field } => (
            format!("{}は数字で入力してください。", field.text(Lang::Ja)),
            "is not a number",
        ),
        NotANumberOfDays => (
            "有効期限（日数）は数字で入力してください。",
            "is not a number of days",
        ),
        CustomerNumber => (
            "顧客番号は数字で入力してください。",
            "is not a number",
        ),
        // ---- equipment and agents
        NoSuchCustomer { customer: i64 } => (
            format!("顧客 {customer} はありません。"),
            format!("there is no customer {customer}"),
        ),
        SiteOfAnotherCustomer { site: i64, customer: i64 } => (
            format!("拠点 {site} は、機器の貸与先である顧客 {customer} の拠点ではありません。"),
            format!("site {site} is not a site of customer {customer}, to whom the equipment is lent"),
        ),
        MoveNotAllowed { from_ja: String, from_en: String, to_ja: String, to_en: String, allowed_ja: String, allowed_en: String } => (
            format!("「{from_ja}」の機器は「{to_ja}」にできません。「{from_ja}」から移せる状態: {allowed_ja}"),
            format!("equipment that is {from_en} cannot become {to_en}; from {from_en} it can become: {allowed_en}"),
        ),
        MoveNeedsCustomer => (
            "機器を貸与するには貸与先の顧客（customer_id）を指定してください。",
            "lending equipment needs the customer it is lent to (customer_id)",
        ),
        MoveNeedsSite => (
            "機器を設置するには設置先の拠点（site_id）を指定してください。",
            "installing equipment needs the site it is installed at (site_id)",
        ),
        MoveUnexpected { field: Field } => (
            format!("{}は貸与（customer_id）または設置（site_id）のときだけ指定します。", field.text(Lang::Ja)),
            format!("{} is only given when lending (customer_id) or installing (site_id)", field.code()),
        ),
        EnrolmentTtl => (
            "有効期間は1分から7日の間で指定してください。",
            "must be between 1 minute and 7 days",
        ),
        EnrolmentTtlNotMinutes => (
            "有効期間は分単位の数字で入力してください。",
            "is not a number of minutes",
        ),
        NoUnitInInventory { id: i64 } => (
            format!("在庫に機器 {id} はありません。"),
            format!("there is no equipment {id} in the inventory"),
        ),
        UnitNotInstalledHere { serial: String, state_ja: String, state_en: String } => (
            format!("機器 {serial} は{state_ja}で、この拠点に設置されていません。先にこの拠点に設置してください。"),
            format!("equipment {serial} is {state_en} and not installed at this site; install it here first"),
        ),
        UnitNotAtSite => (
            "この機器は拠点に設置されていません。先に拠点に設置してください。",
            "the equipment is not at a site; install it at a site first",
        ),
        TooManyReports { max: usize } => (
            format!("報告は1回に{max}件までです。"),
            format!("at most {max} reports per batch"),
        ),
        ReportIdNotUuid { i: usize, id: String } => (
            format!("報告 {i} の report_id「{id}」は UUID ではありません。"),
            format!("reports[{i}].report_id {id:?} is not a UUID"),
        ),
        // ---- configuration revisions
        ReasonTooLong { field: Field, n: usize } => (
            format!("{}は 1000 文字以内にしてください(現在 {n} 文字)。", field.text(Lang::Ja)),
            format!("is {n} characters long; at most 1000 are allowed"),
        ),
        PolicyErrors { count: usize, list_ja: String, list_en: String } => (
            format!("ポリシーに {count} 件のエラーがあります: {list_ja}"),
            format!("the policy has {count} error(s): {list_en}"),
        ),
        SettingsErrors { list_ja: String, list_en: String } => (
            format!("設定に誤りがあります: {list_ja}"),
            list_en,
        ),
        OperationsCenterLeftOut { line: usize, column: usize, count: usize, list_ja: String, list_en: String, quoted: String } => (
            format!("{line}行{column}列: [management] center に運用センターのアドレス {list_ja} が含まれていません(センターの設定 operations_center)。このままでは運用センターから機器への ping、SSH、SNMP、HTTPS が届かなくなります。center に {quoted} を加えてください。"),
            format!(
                "{line}:{column}: [management] center leaves out the operations center's {} {list_en} (operations_center in the center's configuration): the center would lose ping, SSH, SNMP and HTTPS to the equipment; add {quoted} to center",
                if *count == 1 { "address" } else { "addresses" }
            ),
        ),
        NoSuchInstruction { id: i64 } => (
            format!("指示 {id} はこの拠点の顧客の指示ではありません。"),
            format!("there is no instruction {id} of this site's customer"),
        ),
        NotAnInstructionNumber { v: String } => (
            format!("指示の番号「{v}」は数字で入力してください。"),
            format!("{v:?} is not an instruction number"),
        ),
        NotAPort { v: String } => (
            format!("syslog のポート「{v}」は 1〜65535 の数字で入力してください。"),
            format!("{v:?} is not a port number (1 to 65535)"),
        ),
        SnmpLine { line: usize, what_ja: String, what_en: String } => (
            format!("SNMP ユーザーの {line} 行目: {what_ja}。「ユーザー 認証方式 認証パスフレーズ 暗号方式 暗号パスフレーズ」の順に入力してください（例: ops sha256 pass-phrase-1 aes pass-phrase-2）。"),
            format!("line {line}: {what_en}; write USER AUTH AUTH_PASS PRIVACY PRIV_PASS, e.g. ops sha256 pass-phrase-1 aes pass-phrase-2"),
        ),
        // ---- back office
        InterestOutOfRange => (
            "遅延損害金の利率（interest_basis_points）が範囲外です（10000以下にしてください）。",
            "is out of range (at most 10000)",
        ),
        /// A rule of the terms refused the value; the rule's own words are English.
        Rule { field: Field, detail: String } => (
            format!("{}の値が約款の条件を満たしません（{detail}）。", field.text(Lang::Ja)),
            detail,
        ),
        NotADate { field: Field, v: String } => (
            format!("{}の「{v}」は日付ではありません（例: 2026-04-01）。", field.text(Lang::Ja)),
            format!("{v:?} is not a date (expected YYYY-MM-DD, e.g. 2026-04-01)"),
        ),
        NotAMonth { field: Field, v: String } => (
            format!("{}の「{v}」は年月ではありません（例: 2026-04）。", field.text(Lang::Ja)),
            format!("{v:?} is not a month (expected YYYY-MM, e.g. 2026-04)"),
        ),
        NotPositiveYen { field: Field, v: i64 } => (
            format!("{}が{v}です。1円以上の金額にしてください。", field.text(Lang::Ja)),
            format!("is {v}; it must be a positive number of yen"),
        ),
        TooManyYen { field: Field } => (
            format!("{}が¥1,000,000,000,000を超えています。", field.text(Lang::Ja)),
            "is larger than ¥1,000,000,000,000",
        ),
        NotWholeYen { v: String } => (
            format!("「{v}」は円の整数ではありません。"),
            format!("{v:?} is not a whole number of yen"),
        ),
        NotARefusalReason { v: String } => (
            format!("お断りの理由「{v}」は第8条第2項の理由ではありません。一覧から選んでください。"),
            format!("{v:?} is not an Art. 8-2 reason; use one of technical_obstacle, risk_of_non_payment, false_statement, unlawful_use, damages_credibility, other"),
        ),
        NotATerminationReason { v: String } => (
            format!("解除の理由「{v}」は第12条第1項の理由ではありません。一覧から選んでください。"),
            format!("{v:?} is not an Art. 12-1 reason; use one of insolvency, non_payment, business_closure, terms_violation, false_statement, carrier_contract_ended, antisocial_forces, fraud_or_threat, other"),
        ),
        NotAnEligibleLine { line: String, eligible: String } => (
            format!("アクセス回線「{line}」は当社の対象回線ではありません（第7条）。対象: {eligible}"),
            format!("{line:?} is not an eligible access line of the provider (Art. 7); eligible: {eligible}"),
        ),
        NoSuchApplication { id: i64 } => (
            format!("変更するお申込み {id} はこの顧客のお申込みにありません。"),
            format!("application {id} of this customer does not exist"),
        ),
        ChooseCustomer => (
            "顧客を選んでください。",
            "choose a customer",
        ),
        TerminationNeedsNotice => (
            "緊急の場合を除き、解除には事前の通知が必要です（第12条第2項）。事前通知日を入力するか、緊急を選んでください。",
            "a termination needs prior notice unless it is urgent (Art. 12-2): give the notice date or mark it urgent",
        ),
        NoticeInFuture { date: String } => (
            format!("事前通知日 {date} は未来の日付です。通知を済ませてから解除してください（第12条第2項）。"),
            format!("{date} is in the future; Art. 12-2 needs the notice to have been given"),
        ),
        EndBeforeStart { end: String, start: String } => (
            format!("解除日 {end} がサービス開始日 {start} より前です。"),
            format!("{end} is before the service start {start}"),
        ),
        ContractEnded { end: String } => (
            format!("この契約は {end} に終了しているため、機器を貸与できません。"),
            format!("the contract ended on {end}; no equipment can be lent under it"),
        ),
        PaymentInFuture { date: String } => (
            format!("入金日 {date} は未来の日付です。"),
            format!("{date} is in the future"),
        ),
        PaymentTooLarge { amount_ja: String, amount_en: String, invoice: String, open_ja: String, open_en: String } => (
            format!("入金額 {amount_ja} が請求書 {invoice} の未払額 {open_ja} を超えています。"),
            format!("is {amount_en} but invoice {invoice} has {open_en} left to pay"),
        ),
        PaymentBeforeIssue { date: String, issued: String } => (
            format!("入金日 {date} が請求書の発行日（{issued}）より前です。"),
            format!("{date} is before the invoice was issued ({issued})"),
        ),
        NotANoticeKind { kind: String } => (
            format!("通知の種類「{kind}」はありません。約款の変更・保守による停止・契約の解除・サービスの終了から選んでください。"),
            format!("{kind:?} is not a notice kind; use terms_change, maintenance, termination or service_end"),
        ),
        NoRecipients => (
            "送付先の顧客を1社以上選んでください。",
            "choose at least one customer",
        ),
        NoOfficer { customer: i64 } => (
            format!("顧客 {customer} は存在しないか、有効なセキュリティ責任者がいません。"),
            format!("customer {customer} does not exist or has no active security officer"),
        ),
        NotACustomerNumber { v: String } => (
            format!("送付先の「{v}」は顧客番号ではありません。"),
            format!("{v:?} is not a customer number"),
        ),
        NotAUnitNumber { v: String } => (
            format!("貸与機器の「{v}」は機器台帳の機器番号ではありません。"),
            format!("{v:?} is not a number of the equipment inventory"),
        ),
        NoSuchUnit { id: i64 } => (
            format!("貸与機器 {id} は機器台帳にありません。"),
            format!("there is no equipment {id} in the equipment inventory"),
        ),
        UnitNotLendable { id: i64, serial: String, state_ja: String, state_en: String, where_ja: String, where_en: String } => (
            format!("機器 {id}（{serial}）は「{state_ja}」{where_ja}のため貸与できません。在庫の機器、またはこの顧客の手元にあり他の契約に属さない機器を選んでください。"),
            format!("equipment {id} ({serial}) is {state_en}{where_en}; only equipment in stock, or equipment already with this customer and under no other contract, can be lent"),
        ),
        MonthNotOver { month: String } => (
            format!("対象月 {month} はまだ終わっていません。請求書は月が終わってから発行します。"),
            format!("{month} is not over yet; invoices for a month are issued after it ends"),
        ),
    }
}

crate::catalog! {
    /// What the caller's role may not do.
    pub enum Forbidden {
        OfficerCreatesStaffOnly => (
            "セキュリティ責任者が作成できるのはスタッフのユーザーだけです。",
            "a security officer may only create staff users",
        ),
        CreateUsers => ("あなたの役割ではユーザーを作成できません。", "your role may not create users"),
        ChangeAccount => ("あなたの役割ではこのアカウントを変更できません。", "your role may not change this account"),
        ChangeRoles => ("役割を変更できるのは管理者だけです。", "only administrators change roles"),
        SeeTasks => (
            "バックグラウンドタスクを見られるのは事業者の担当者だけです。",
            "only provider staff see the background tasks",
        ),
        RunTasks => (
            "バックグラウンドタスクを実行できるのは管理者とオペレーターだけです。",
            "only administrators and operators run background tasks",
        ),
        CreateCustomers => (
            "顧客を作成できるのは管理者とバックオフィスだけです。",
            "only administrators and back office create customers",
        ),
        ChangeCustomers => (
            "顧客の情報を変更できるのは管理者とバックオフィスだけです。",
            "only administrators and back office change customer records",
        ),
        SeeIncidents => (
            "インシデントを見られるのは、その顧客と運用担当者だけです。",
            "incidents are seen only by the customer and the operations staff",
        ),
        HandleIncidents => (
            "インシデントを処理できるのは管理者とオペレーターだけです。",
            "only administrators and operators handle incidents",
        ),
        SeeInstructions => (
            "指示を見られるのは、その顧客とコーディネーター、オペレーターだけです。",
            "instructions are seen only by the customer, coordinators and operators",
        ),
        SubmitInstructions => (
            "指示を出せるのは顧客のセキュリティ責任者だけです。",
            "only the customer's security officer submits instructions",
        ),
        ActOnInstructions => (
            "指示を処理できるのはコーディネーターとオペレーターだけです。",
            "only coordinators and operators act on instructions",
        ),
        StaffComment => (
            "スタッフのユーザーは指示にコメントできません。",
            "staff users cannot comment on instructions",
        ),
        TokenRole => (
            "自分の役割が含まない役割のトークンは作成できません。",
            "a token cannot carry a role your own role does not cover",
        ),
        BackOfficeOnly => (
            "この操作はバックオフィスの担当者だけができます。",
            "only back-office staff may do this",
        ),
        Cancel => (
            "解約を申し込めるのは顧客のセキュリティ責任者（またはその代理のバックオフィス）だけです。",
            "only the customer's security officer (or back-office staff on their behalf) may cancel",
        ),
        AddEquipment => (
            "機器台帳に機器を登録できるのは管理者とバックオフィスだけです。",
            "only administrators and back office add equipment to the inventory",
        ),
        MoveEquipment => (
            "機器を移動できるのは管理者、バックオフィス、オペレーターだけです。",
            "only administrators, back office and operators move equipment",
        ),
        EnrolmentTokens => (
            "登録トークンを作成できるのは管理者とオペレーターだけです。",
            "only administrators and operators create enrolment tokens",
        ),
        DraftRevisions => (
            "設定のリビジョンを作成できるのはコーディネーターとオペレーターだけです。",
            "only coordinators and operators draft configuration revisions",
        ),
        ReviewRevisions => (
            "設定のリビジョンをレビューできるのはコーディネーター、オペレーター、管理者だけです。",
            "only coordinators, operators and administrators review configuration revisions",
        ),
        FourEyes => (
            "4つの目の原則: このリビジョンは作成者以外の担当者がレビューしてください。",
            "four-eyes review: another staff member must review this revision, not its author",
        ),
        PublishRevisions => (
            "設定のリビジョンを公開できるのはオペレーターと管理者だけです。",
            "only operators and administrators publish configuration revisions",
        ),
    }
}

crate::messages! {
    /// What conflicts with the current state of an object.
    pub enum Conflict {
        LastActiveAdmin => (
            "最後の有効な管理者は無効にできず、役割も変えられません。先に別の管理者を有効にしてください。",
            "the last active administrator cannot be deactivated or given another role; make another administrator active first",
        ),
        AccountExists => (
            "このメールアドレスのアカウントはすでにあります。",
            "an account with this e-mail address already exists",
        ),
        TaskRunning { name: String } => (
            format!("タスク {name} は実行中です。最後の実行結果を確認してください。"),
            format!("the task {name} is running already; see its last run"),
        ),
        AccountWithEmailExists { email: String } => (
            format!("メールアドレス {email} のアカウントはすでにあります。"),
            format!("an account with the e-mail address {email} already exists"),
        ),
        OfficerExists => (
            "この顧客にはすでに有効なセキュリティ責任者がいます。先に現在の責任者を無効にしてください。",
            "this customer already has an active security officer; deactivate the current one first",
        ),
        /// `from` and `to` are the states' wire names (`open`, `acknowledged`, `resolved`).
        IncidentState { from: String, to: String } => (
            format!("インシデントは「{from}」から「{to}」にはできません。"),
            format!("an incident that is {from} cannot become {to}"),
        ),
        /// `from` and `to` are the states' wire names (`submitted`, `accepted`, ...).
        InstructionState { from: String, to: String } => (
            format!("この指示は {from} のため {to} にできません。"),
            format!("the instruction is {from} and cannot become {to}"),
        ),
        ApplicationNotAcceptable { state_ja: String, state_en: String } => (
            format!("お申込みは「{state_ja}」のため承諾できません。"),
            format!("the application is {state_en} and cannot be accepted"),
        ),
        ApplicationNotRefusable { state_ja: String, state_en: String } => (
            format!("お申込みは「{state_ja}」のためお断りできません。"),
            format!("the application is {state_en} and cannot be refused"),
        ),
        ContractEnding => (
            "この契約はすでに終了したか、終了する予定です。",
            "the contract has already ended or is ending",
        ),
        UnitMovedMeanwhile => (
            "この機器はほかの人が先に移動しました。再読み込みしてからやり直してください。",
            "the equipment was moved by someone else meanwhile; reload and try again",
        ),
        SettingsNotStored { detail: String } => (
            format!("設定を保存できません: {detail}"),
            format!("cannot store the settings: {detail}"),
        ),
        RevisionNotDraft { number: i64, state: String } => (
            format!("リビジョン {number} は {state} です。レビューできるのは下書きだけです。"),
            format!("revision {number} is {state}; only a draft can be reviewed"),
        ),
        RevisionReviewedMeanwhile { number: i64 } => (
            format!("リビジョン {number} はほかの人が先にレビューしました。再読み込みしてください。"),
            format!("revision {number} was reviewed by someone else meanwhile; reload it"),
        ),
        RevisionNotApproved { number: i64, state: String } => (
            format!("リビジョン {number} は {state} です。公開できるのは承認済みのリビジョンだけです。"),
            format!("revision {number} is {state}; only an approved revision can be published"),
        ),
        RevisionPublishedMeanwhile { number: i64 } => (
            format!("リビジョン {number} はほかの人が先に公開または変更しました。再読み込みしてください。"),
            format!("revision {number} was published or changed by someone else meanwhile; reload it"),
        ),
        /// A document could not be laid out or rendered; its own words are English.
        Document { detail: String } => (
            format!("書類を作成できません: {detail}"),
            detail,
        ),
        /// The certificate authority refused; its own words are English.
        Certificate { detail: String } => (
            format!("証明書を発行できません: {detail}"),
            detail,
        ),
        /// A uniqueness rule of the database; its own words are English.
        Stored { detail: String } => (
            format!("すでに同じものがあります: {detail}"),
            detail,
        ),
    }
}

crate::catalog! {
    /// Why a caller is not signed in.
    pub enum Unauthenticated {
        SigninRefused => (
            "メールアドレス、パスワード、確認コードのいずれかが違います。",
            "wrong e-mail address, password or code",
        ),
        SigninExpired => (
            "サインインの有効期限が切れました。パスワードをもう一度入力してください。",
            "the sign-in has expired; enter your password again",
        ),
        CertificateRevoked => (
            "証明書が失効したか、機器が移動しました。",
            "the certificate was revoked or its equipment has moved",
        ),
    }
}

crate::catalog! {
    /// What was tried too often.
    pub enum Throttled {
        TotpCodes => (
            "このアカウントで試された確認コードが多すぎます。1分待ってください。",
            "Too many codes were tried for this account; wait a minute.",
        ),
        SigninsFromAddress => (
            "このアドレスからのサインイン失敗が多すぎます。1分待ってください。",
            "Too many failed sign-ins from this address; wait a minute.",
        ),
    }
}

crate::messages! {
    /// The API's hints: what to do about a problem.
    pub enum ApiHint {
        CorrectField { field: Field } => (
            format!("{}（`{}`）を直して、もう一度送ってください。", field.text(Lang::Ja), field.code()),
            format!("correct the field `{}` and send again", field.code()),
        ),
        SendTotp => ("totp_code を送ってください。", "send totp_code"),
        MaxBodyBytes => (
            "センターの設定 max_body_bytes を確認してください。",
            "see max_body_bytes in the configuration",
        ),
        SendBearer => (
            "POST /api/v1/login で得たトークンか API トークンを Authorization: Bearer <トークン> で送ってください。",
            "send Authorization: Bearer <token> from POST /api/v1/login or an API token",
        ),
        SignInAgain => ("もう一度サインインしてください。", "sign in again"),
        SeeOpenApi => ("/api/v1/openapi.json を参照してください。", "see /api/v1/openapi.json"),
    }
}

crate::messages! {
    /// The API's own problems: requests refused at its edge, before any use case (the
    /// body, the query string, the bearer, the path). Values from outside (a parser's
    /// message, a content type) are quoted as they came.
    pub enum ApiProblem {
        BodyTooLarge => (
            "リクエストの本文が、センターが受け付ける大きさを超えています。",
            "the request body is larger than the center accepts",
        ),
        BodyUnreadable { error: String } => (
            format!("リクエストの本文を読めません: {error}"),
            format!("cannot read the body: {error}"),
        ),
        NotJson { content_type: String } => (
            format!("本文の形式が {content_type} です。この操作は application/json を受け付けます。"),
            format!("the body is {content_type}; this endpoint takes application/json"),
        ),
        NotUtf8 { at: usize } => (
            format!("本文が UTF-8 として正しくありません（{at} バイト目）。"),
            format!("the body is not valid UTF-8 at byte {at}"),
        ),
        BadJson { line: usize, column: usize, error: String } => (
            format!("JSON の本文が正しくありません（{line} 行 {column} 列）: {error}"),
            format!("the JSON body is not valid at line {line} column {column}: {error}"),
        ),
        BadQuery { error: String } => (
            format!("クエリ文字列が正しくありません: {error}"),
            error.clone(),
        ),
        NoBearer => ("Bearer トークンがありません。", "no bearer token"),
        UnknownToken => (
            "トークンが不明か、失効しているか、期限切れです。",
            "the token is unknown, revoked or expired",
        ),
        NoSuchEndpoint => ("そのエンドポイントはありません。", "no such endpoint"),
        MethodNotAllowed => (
            "このエンドポイントはこのメソッドを受け付けません。",
            "this endpoint does not take this method",
        ),
        NotAnEquipmentState { field: String, value: String, allowed: String } => (
            format!("{field}: {value} は機器の状態ではありません。使える値: {allowed}"),
            format!("{field}: {value} is not an equipment state; one of: {allowed}"),
        ),
        NotAFleetState { field: String, value: String, allowed: String } => (
            format!("{field}: {value} は機器の稼働の状態ではありません。使える値: {allowed}"),
            format!("{field}: {value} is not a fleet state; one of: {allowed}"),
        ),
        NotAnIncidentState { field: String, value: String, allowed: String } => (
            format!("{field}: {value} はインシデントの状態ではありません。使える値: {allowed}"),
            format!("{field}: {value} is not an incident state; one of: {allowed}"),
        ),
        NotALanguage { field: String, value: String } => (
            format!("{field}: {value} は言語ではありません。ja か en を指定してください。"),
            format!("{field}: {value} is not a language; use ja or en"),
        ),
        QueryFields { fields: String, error: String } => (
            format!("{fields}: クエリ文字列が正しくありません: {error}"),
            format!("{fields}: {error}"),
        ),
        DocumentUnavailable { error: String } => (
            format!("請求書の文書を作れません: {error}"),
            error.clone(),
        ),
        Internal => (
            "内部エラーが発生しました（記録しました）。",
            "the center could not complete the request; it has been logged",
        ),
        NotANumber { field: String, value: String } => (
            format!("{field}: {value} は数値ではありません。"),
            format!("{field}: {value} is not a number"),
        ),
    }
}

crate::catalog! {
    /// The errors without values.
    pub enum ErrorWords {
        NotFound => ("見つかりません。", "no such object"),
        TotpRequired => ("確認コードが必要です。", "a TOTP code is required"),
        Internal => (
            "内部エラーが発生しました（記録しました）。",
            "the center could not complete the request; it has been logged",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(texts: impl Fn(Lang) -> String, what: &str) {
        let (ja, en) = (texts(Lang::Ja), texts(Lang::En));
        assert!(!ja.trim().is_empty(), "{what}: no Japanese text");
        assert!(!en.trim().is_empty(), "{what}: no English text");
        // Japanese text is Japanese: it holds a kana or kanji (not only a copy of the
        // English words); values carried in from outside may be English.
        assert!(
            ja.chars().any(|c| ('\u{3040}'..='\u{30ff}').contains(&c)
                || ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{what}: the Japanese text {ja:?} is not Japanese"
        );
    }

    #[test]
    fn every_error_message_has_both_texts() {
        for f in Field::ALL {
            both(|l| f.text(l).to_string(), f.code());
            assert!(!f.code().is_empty());
        }
        for m in Invalid::examples() {
            both(|l| m.text(l), &format!("{m:?}"));
        }
        for m in ApiHint::examples() {
            both(|l| m.text(l), &format!("{m:?}"));
        }
        for m in ApiProblem::examples() {
            both(|l| m.text(l), &format!("{m:?}"));
        }
        for m in Conflict::examples() {
            both(|l| m.text(l), &format!("{m:?}"));
        }
        for m in Forbidden::ALL {
            both(|l| m.text(l).to_string(), &format!("{m:?}"));
        }
        for m in Unauthenticated::ALL {
            both(|l| m.text(l).to_string(), &format!("{m:?}"));
        }
        for m in Throttled::ALL {
            both(|l| m.text(l).to_string(), &format!("{m:?}"));
        }
        for m in ErrorWords::ALL {
            both(|l| m.text(l).to_string(), &format!("{m:?}"));
        }
    }

    #[test]
    fn values_appear_in_both_texts() {
        let m = Invalid::TooLong {
            field: Field::Subject,
            n: 201,
            max: 200,
        };
        assert_eq!(
            m.text(Lang::Ja),
            "件名が201文字あります。200文字以内で入力してください。"
        );
        assert_eq!(
            m.text(Lang::En),
            "is 201 characters long; at most 200 are allowed"
        );
        assert_eq!(Field::from_code("serial"), Field::Serial);
        assert_eq!(Field::from_code("nothing-like-it"), Field::Other);
    }
}
