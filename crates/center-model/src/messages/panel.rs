//! The control panel's words: its layout, sign-in and accounts, customers and
//! instructions, the audit trail, API tokens, the equipment register, the equipment
//! status (`/fleet`) and configuration revisions. The back office's are in
//! [`super::backoffice`].

crate::catalog! {
    /// The layout and the words every area shares.
    pub enum Common {
        Title => ("Mamori 管理パネル", "Mamori control panel"),
        Dashboard => ("ダッシュボード", "Dashboard"),
        Users => ("ユーザー", "Users"),
        Customers => ("顧客", "Customers"),
        Customer => ("顧客", "Customer"),
        CustomerId => ("顧客ID", "Customer ID"),
        Instructions => ("指示", "Instructions"),
        Instruction => ("指示", "Instruction"),
        AuditTrail => ("監査ログ", "Audit trail"),
        EquipmentRegister => ("機器台帳", "Equipment register"),
        EquipmentStatus => ("機器の状態", "Equipment status"),
        ApiTokens => ("API トークン", "API tokens"),
        ContractsAndInvoices => ("契約と請求", "Contracts and invoices"),
        SignIn => ("サインイン", "Sign in"),
        SignOut => ("サインアウト", "Sign out"),
        Name => ("名称", "Name"),
        Role => ("役割", "Role"),
        Kind => ("種類", "Kind"),
        State => ("状態", "State"),
        When => ("日時", "When"),
        Site => ("拠点", "Site"),
        Sites => ("拠点", "Sites"),
        Equipment => ("機器", "Equipment"),
        SerialNumber => ("シリアル番号", "Serial number"),
        Model => ("型番", "Model"),
        Detail => ("詳細", "Detail"),
        Note => ("備考", "Note"),
        Create => ("作成", "Create"),
        Submit => ("送信", "Submit"),
        Save => ("保存", "Save"),
        Filter => ("絞り込み", "Filter"),
        Back => ("戻る", "Back"),
        NoneYet => ("ありません", "None"),
        Never => ("なし", "Never"),
        Error => ("エラー", "Error"),
        NotFound => ("見つかりません", "Not found"),
        NotAllowed => ("この操作は許可されていません", "This action is not allowed"),
        InternalError => (
            "内部エラーが発生しました（記録しました）",
            "internal error; it has been logged",
        ),
        FormExpired => (
            "フォームの有効期限が切れたか、不正な送信です。ページを再読み込みしてください。",
            "The form has expired or was not sent from this panel. Reload the page and try again.",
        ),
        FormNotUrlEncoded => ("フォームの形式が正しくありません。", "The form was not sent as application/x-www-form-urlencoded."),
        FormTooLarge => ("送信された内容が大きすぎます。", "The form is larger than the center accepts."),
        FormUnreadable => ("フォームを読み取れませんでした。", "The form could not be read."),
        FormNotUtf8 => ("フォームに不正な文字が含まれています。", "The form holds text that is not valid UTF-8."),
        FormIncomplete => (
            "フォームの項目が不足しているか、正しくありません。",
            "The form is incomplete or has a wrong field.",
        ),
    }
}

crate::catalog! {
    /// Sign-in, account setup, users and the dashboard.
    pub enum Accounts {
        EmailAddress => ("メールアドレス", "E-mail address"),
        Password => ("パスワード", "Password"),
        PasswordLength => ("12文字以上", "12+ characters"),
        VerificationCode => (
            "確認コード（認証アプリの6桁）",
            "Verification code (6 digits from your authenticator app)",
        ),
        SetUpAccount => ("アカウントの設定", "Set up your account"),
        CreateFirstAdministrator => ("最初の管理者を作成", "Create the first administrator"),
        PersonName => ("氏名", "Name"),
        ScanTotpSecret => (
            "認証アプリでこの QR コードを読み取るか、秘密鍵を入力してください",
            "Scan this QR code with your authenticator app, or enter the secret",
        ),
        AccountReady => (
            "アカウントの準備ができました。サインインしてください。",
            "Your account is ready. Please sign in.",
        ),
        TooManySignIns => (
            "このアドレスからのサインイン失敗が多すぎます。1分待ってください。",
            "Too many failed sign-ins from this address; wait a minute.",
        ),
        NewUser => ("新しいユーザー", "New user"),
        GiveSetupLink => (
            "この一回限りのリンクを本人に渡してください",
            "Give this one-time link to its owner",
        ),
        Active => ("有効", "Active"),
        Deactivate => ("無効にする", "Deactivate"),
        Welcome => ("ようこそ", "Welcome"),
        Language => ("表示言語", "Language"),
        SameAsBrowser => ("ブラウザに合わせる", "Same as browser"),
    }
}

crate::catalog! {
    /// The roles of people, as the panel names them.
    pub enum RoleName {
        Admin => ("管理者", "Administrator"),
        Operator => ("オペレーター", "Operator"),
        Coordinator => ("セキュリティコーディネーター", "Security coordinator"),
        BackOffice => ("バックオフィス", "Back office"),
        Officer => ("セキュリティ責任者", "Security officer"),
        Staff => ("閲覧スタッフ", "Staff (read-only)"),
    }
}

crate::catalog! {
    /// Customers, instructions and the audit trail.
    pub enum Customers {
        NewCustomerAndOfficer => ("新しい顧客と責任者", "New customer and its officer"),
        ConfigurationRevisions => ("設定の版", "Configuration revisions"),
        Subject => ("件名", "Subject"),
        Details => ("内容", "Details"),
        SubmitNewInstruction => ("新しい指示を送信", "Submit a new instruction"),
        Accept => ("受付", "Accept"),
        Reject => ("却下", "Reject"),
        MarkDone => ("完了にする", "Mark done"),
        Reason => ("理由", "Reason"),
        Comment => ("コメント", "Comment"),
        Comments => ("コメント", "Comments"),
        Who => ("誰が", "Who"),
        From => ("接続元", "From"),
        Action => ("操作", "Action"),
        Object => ("対象", "Object"),
        Outcome => ("結果", "Outcome"),
        NewSite => ("新しい拠点", "New site"),
        Address => ("住所", "Address"),
        NoSites => ("拠点はまだありません。", "No sites yet."),
    }
}

crate::catalog! {
    /// The kinds of instruction.
    pub enum InstructionKindName {
        PolicyChange => ("ポリシー変更", "Policy change"),
        MaintenanceRequest => ("保守依頼", "Maintenance request"),
        Question => ("質問", "Question"),
        Other => ("その他", "Other"),
    }
}

crate::catalog! {
    /// Where an instruction stands.
    pub enum InstructionStateName {
        Submitted => ("受信済み", "Submitted"),
        Accepted => ("受付済み", "Accepted"),
        Rejected => ("却下", "Rejected"),
        Done => ("完了", "Done"),
    }
}

crate::catalog! {
    /// The API-token page.
    pub enum Tokens {
        About => (
            "API トークンで /api/v1 を呼び出せます（Authorization: Bearer）。トークンは作成した人の現在の役割を超えて使えません。役割の変更や無効化で、その人のトークンはすべて取り消されます。",
            "An API token calls /api/v1 (Authorization: Bearer). A token never acts with more than its owner's current role allows; a role change or deactivation revokes all of the owner's tokens.",
        ),
        Owner => ("所有者", "Owner"),
        Created => ("作成", "Created"),
        Expires => ("有効期限", "Expires"),
        LastUsed => ("最終使用", "Last used"),
        Revoke => ("取り消す", "Revoke"),
        Revoked => ("取り消し済み", "Revoked"),
        Expired => ("期限切れ", "Expired"),
        Active => ("有効", "Active"),
        NewToken => ("新しいトークン", "New token"),
        EveryCustomer => ("空欄: すべての顧客", "empty: every customer"),
        ExpiresAfter => ("有効期限", "Expires after"),
        Days => ("日", "days"),
        UntilRevoked => ("なし（取り消すまで）", "never (until revoked)"),
        ShownOnce => (
            "このトークンは一度だけ表示されます。今すぐ控えてください。センターにはハッシュしか残りません。",
            "This token is shown once: copy it now. The center keeps only its hash.",
        ),
        BackToTokens => ("トークンの一覧へ", "Back to the tokens"),
    }
}

crate::catalog! {
    /// What a dangerous action asks before it is taken: the consequence, then whether
    /// to go on (the browser's confirmation dialog, `data-confirm`).
    pub enum Confirm {
        DeactivateUser => (
            "このユーザーを無効にします。セッションと API トークンはすぐに失効し、サインインできなくなります。よろしいですか？",
            "Deactivate this user? Their sessions and API tokens end at once and they can no longer sign in.",
        ),
        TerminateContract => (
            "この契約を解除します。解除日に未払いの債務はすべて支払期限が到来します（第12条第3項）。よろしいですか？",
            "Terminate this contract? On the end date every unpaid debt falls due at once (Art. 12-3).",
        ),
        RefuseApplication => (
            "この申込みを選んだ理由で謝絶します。よろしいですか？",
            "Refuse this application for the reason chosen?",
        ),
        PublishRevision => (
            "この版を次の世代として公開し、拠点のすべての機器に配信します。よろしいですか？",
            "Publish this revision as the next generation? It goes to all the equipment at the site.",
        ),
        SendNotice => (
            "この通知を宛先に送信します。送信後は取り消せません。よろしいですか？",
            "Send this notice to its recipients? A sent notice cannot be called back.",
        ),
    }
}

crate::catalog! {
    /// What a page confirms after a form did its work (the flash message).
    pub enum Flash {
        SiteCreated => ("拠点を作成しました。", "The site was created."),
        UnitStocked => ("機器を在庫に追加しました。", "The equipment was added to stock."),
        UnitMoved => ("機器の状態を変更しました。", "The equipment's state was changed."),
    }
}

crate::catalog! {
    /// The equipment register, one piece of equipment, its agent, the equipment status.
    pub enum Equipment {
        NoneMatches => ("該当する機器はありません。", "No equipment matches."),
        Updated => ("更新", "Updated"),
        History => ("履歴", "History"),
        Change => ("変更", "Change"),
        By => ("担当", "By"),
        AgentEnrolment => ("エージェントの登録", "Agent enrolment"),
        ValidForMinutes => ("有効期間（分）", "Valid for (minutes)"),
        CreateEnrolmentToken => ("登録トークンを発行", "Create an enrolment token"),
        EnrolmentTokenShownOnce => (
            "この登録トークンは一度だけ表示され、一度だけ使えます。機器で root として次のコマンドを実行してください。",
            "This enrolment token is shown once and works once. Run this on the equipment as root:",
        ),
        ExpiresAt => ("有効期限:", "Expires:"),
        Agent => ("エージェント", "Agent"),
        LastContact => ("最終接続", "Last contact"),
        AppliedGeneration => ("適用世代", "Applied generation"),
        AppliedOverDesired => ("適用世代 / 指定世代", "Applied / desired"),
        LastApply => ("直近の適用", "Last apply"),
        Drift => ("ドリフト", "Drift"),
        NoDrift => ("なし", "none"),
        Generation => ("世代", "Generation"),
        GenerationLower => ("世代", "generation"),
        Report => ("報告", "Report"),
        StockUnit => ("機器を在庫に追加", "Add equipment to stock"),
        AddToStock => ("在庫に追加", "Add to stock"),
        LendToCustomer => ("顧客に貸与", "Lend to a customer"),
        Lend => ("貸与する", "Lend"),
        InstallAtSite => ("拠点に設置", "Install at a site"),
        Install => ("設置する", "Install"),
        NoSitesOfCustomer => (
            "この顧客には拠点がありません。先に顧客のページで拠点を作成してください。",
            "This customer has no site yet. Create one on the customer's page first.",
        ),
        OtherMove => ("その他の状態変更", "Another change of state"),
        MoveTo => ("変更後の状態", "New state"),
        Move => ("変更する", "Change"),
        AgentCommand => (
            "登録トークンをファイルに保存し、機器で root として次のコマンドを実行してください。",
            "Save the token in a file and run this on the equipment as root:",
        ),
        AgentUrl => ("エージェント接続先", "Agent listener"),
        CaFingerprint => ("CA フィンガープリント (SHA-256)", "CA fingerprint (SHA-256)"),
        AgentListenerOff => (
            "エージェント接続口 (agent_listen) が無効のため、機器は登録できません。センターの設定で agent_listen を有効にしてください。",
            "The agent listener (agent_listen) is off, so no equipment can enrol. Turn agent_listen on in the center's configuration.",
        ),
        Copy => ("コピー", "Copy"),
    }
}

crate::catalog! {
    /// Where a piece of equipment is in its life (the register).
    pub enum EquipmentStateName {
        InStock => ("在庫", "In stock"),
        Lent => ("貸与中", "Lent"),
        Installed => ("設置済み", "Installed"),
        Disconnected => ("接続停止", "Disconnected"),
        Relocating => ("移設中", "Relocating"),
        Failed => ("故障", "Failed"),
        Replaced => ("交換済み", "Replaced"),
        Returned => ("返却済み", "Returned"),
    }
}

crate::catalog! {
    /// Where a piece of equipment's configuration stands (the equipment status).
    pub enum FleetStateName {
        NeverSeen => ("未接続", "never seen"),
        Drift => ("ドリフト", "drift"),
        Failed => ("適用失敗", "failed"),
        Pending => ("適用待ち", "pending"),
        InSync => ("同期済み", "in sync"),
    }
}

crate::catalog! {
    /// How an agent's last apply ended.
    pub enum ApplyOutcome {
        Applied => ("適用済み", "applied"),
        ApplyFailed => ("適用失敗", "apply failed"),
        RolledBack => ("自動ロールバック", "rolled back"),
        Refused => ("拒否", "refused"),
    }
}

crate::catalog! {
    /// Configuration revisions: history, one revision, diff, drafting.
    pub enum Revisions {
        DraftNew => ("新しい版を作成", "Draft a new revision"),
        Number => ("版", "Number"),
        Generation => ("世代", "Generation"),
        Author => ("作成者", "Author"),
        Reason => ("変更理由", "Reason"),
        Restores => ("復元元:", "restores"),
        NoneYet => ("まだ版はありません。", "No revisions yet."),
        CompareFrom => ("比較元", "From"),
        CompareTo => ("比較先", "To"),
        ShowDiff => ("差分を表示", "Show the diff"),
        ConfigurationRevisions => ("設定の版", "Configuration revisions"),
        ConfigurationRevision => ("設定の版", "Configuration revision"),
        NoProblems => ("問題はありません。", "No problems."),
        CompiledRules => ("コンパイル後のルール数:", "Compiled rules:"),
        SeverityError => ("エラー", "error"),
        SeverityWarning => ("警告", "warning"),
        AllRevisions => ("版の一覧へ", "All revisions"),
        Drafted => ("作成", "Drafted"),
        RestoresRevision => ("復元元の版", "Restores revision"),
        Reviewed => ("審査", "Reviewed"),
        Published => ("公開", "Published"),
        Diagnostics => ("診断", "Diagnostics"),
        DiffWithPrevious => ("前の版との差分", "Diff with the previous revision"),
        Policy => ("ポリシー", "Policy"),
        EquipmentSettings => ("機器設定", "Equipment settings"),
        Actions => ("操作", "Actions"),
        NoteOptional => ("コメント(任意)", "Note (optional)"),
        Approve => ("承認", "Approve"),
        WhyRejected => ("却下の理由", "Why it is rejected"),
        Reject => ("却下", "Reject"),
        Publish => ("公開(次の世代として配信)", "Publish as the next generation"),
        WhyRollBack => ("この版に戻す理由", "Why to roll back to this revision"),
        RollBack => ("この版に戻す", "Roll back to this revision"),
        DraftFromThis => ("この版をもとに新しい版を作成", "Draft a new revision from this one"),
        NoDifferences => ("違いはありません。", "No differences."),
        RulesAdded => ("追加されたルール", "Rules added"),
        RulesRemoved => ("削除されたルール", "Rules removed"),
        RulesChanged => ("変更されたルール", "Rules changed"),
        ObjectsAdded => ("追加されたオブジェクト", "Objects added"),
        ObjectsRemoved => ("削除されたオブジェクト", "Objects removed"),
        ObjectsChanged => ("変更されたオブジェクト", "Objects changed"),
        ZonesAndDefaults => ("ゾーンと既定動作", "Zones and defaults"),
        Nat => ("NAT", "NAT"),
        LoadBalancers => ("ロードバランサー", "Load balancers"),
        NoPolicySummary => ("ポリシーの比較はできません", "No policy summary"),
        NoChanges => ("変更はありません。", "No changes."),
        SummaryOfChanges => ("変更の概要", "Summary of changes"),
        PolicyDiff => ("ポリシーの差分", "Policy diff"),
        SettingsDiff => ("機器設定の差分", "Settings diff"),
        Diff => ("差分", "Diff"),
        PolicyToml => ("ポリシー(TOML)", "Policy (TOML)"),
        Host => ("送信先", "Host"),
        Port => ("ポート", "Port"),
        Protocol => ("プロトコル", "Protocol"),
        SnmpUsers => (
            "SNMPv3 ユーザー(1 行に 1 人: ユーザー 認証方式 認証パスフレーズ 暗号方式 暗号パスフレーズ)",
            "SNMPv3 users (one a line: USER AUTH AUTH_PASS PRIVACY PRIV_PASS)",
        ),
        NtpServers => ("NTP サーバー(1 行に 1 つ)", "NTP servers (one a line)"),
        DnsServers => ("DNS サーバー(1 行に 1 つ)", "DNS servers (one a line)"),
        ReasonRequired => ("変更理由(必須)", "Reason (required)"),
        InstructionAnswered => ("対応する指示の番号(任意)", "Instruction it answers (number, optional)"),
        SaveDraft => ("下書きを保存", "Save the draft"),
        BasedOn => ("もとにした版:", "Based on revision"),
        DraftRevision => ("新しい版の下書き", "Draft a revision"),
    }
}

crate::catalog! {
    /// Where a configuration revision stands.
    pub enum RevisionStateName {
        Draft => ("下書き", "Draft"),
        Approved => ("承認済み", "Approved"),
        Rejected => ("却下", "Rejected"),
        Published => ("公開済み", "Published"),
    }
}
