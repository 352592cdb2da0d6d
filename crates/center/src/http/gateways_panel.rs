//! Panel pages of managed gateways: the equipment inventory (filters by state and
//! customer) and one unit with its whole history, in Japanese and English.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::{AppError, AppState, Lang, PanelUser, check_csrf, date, error_page, esc, now_ms, page};
use crate::domain::{Customer, Role};
use crate::gateways::EquipmentFilter;
use crate::gateways::inventory::EquipmentState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/equipment", get(list_page))
        .route("/equipment/{id}", get(unit_page))
        .route("/equipment/{id}/enrolment-token", post(enrolment_token))
}

#[derive(Deserialize)]
struct TokenForm {
    csrf: Option<String>,
    ttl_minutes: Option<String>,
}

/// `POST /equipment/{id}/enrolment-token`: a one-time enrolment token for the unit at
/// the site where it is installed, shown once with the commands that put it in a file.
async fn enrolment_token(
    State(s): State<AppState>,
    u: PanelUser,
    Path(id): Path<String>,
    Form(f): Form<TokenForm>,
) -> Response {
    if let Err(r) = check_csrf(&u, &f.csrf) {
        return *r;
    }
    let l = u.lang;
    let Ok(id) = id.parse::<i64>() else {
        return error_page(l, Some(&u), AppError::NotFound);
    };
    let minutes = match f.ttl_minutes.as_deref().map(str::trim) {
        None | Some("") => 60,
        Some(m) => match m.parse::<i64>() {
            Ok(v) => v,
            Err(_) => {
                return error_page(
                    l,
                    Some(&u),
                    AppError::invalid(
                        crate::app::Field::TtlMinutes,
                        crate::app::Invalid::EnrolmentTtlNotMinutes,
                    ),
                );
            }
        },
    };
    let (e, _) = match s.app.equipment(&u.actor, id).await {
        Ok(x) => x,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let Some(site) = e.placement.site_id else {
        return error_page(
            l,
            Some(&u),
            AppError::invalid(
                crate::app::Field::EquipmentId,
                crate::app::Invalid::UnitNotAtSite,
            ),
        );
    };
    match s
        .app
        .create_enrolment_token(&u.actor, site, id, minutes.saturating_mul(60_000), now_ms())
        .await
    {
        Ok((token, expires_at)) => {
            // The token goes into a file only root reads, never onto a command line
            // (other local users see command lines).
            let body = format!(
                "<p>{}</p><p><code id=\"enrolment_token\">{}</code></p><p>{} {}</p><pre>umask 077\nmkdir -p /etc/mamori\nprintf '%s\\n' '{}' &gt; /etc/mamori/enrol.token\nmamori agent run --center https://CENTER:PORT --token-file /etc/mamori/enrol.token</pre>",
                w(
                    l,
                    "この登録トークンは一度だけ表示され、一度だけ使えます。機器で root として次のコマンドを実行してください。",
                    "This enrolment token is shown once and works once. Run this on the unit as root:"
                ),
                esc(&token),
                w(l, "有効期限:", "Expires:"),
                date(l, expires_at),
                esc(&token),
            );
            crate::http::shows_secret(page(l, Some(&u), &e.serial, &body))
        }
        Err(e) => error_page(l, Some(&u), e),
    }
}

/// The Japanese or the English text, by the reader's language.
pub(super) fn w(l: Lang, ja: &'static str, en: &'static str) -> &'static str {
    match l {
        Lang::Ja => ja,
        Lang::En => en,
    }
}

/// The filter form of a list of units (`id="filter"`, GET to `action`): a state select
/// from `states` (value, label) and a customer select, each with an empty choice for
/// any, the current choices selected, and the Filter button.
pub(super) fn filter_form<'a>(
    l: Lang,
    action: &str,
    states: impl IntoIterator<Item = (&'a str, &'a str)>,
    state: Option<&str>,
    customers: &[Customer],
    customer_id: Option<i64>,
) -> String {
    let mut body = format!("<form method=\"get\" action=\"{action}\" id=\"filter\">");
    body.push_str(&format!(
        "<label>{} <select name=\"state\"><option value=\"\">—</option>",
        w(l, "状態", "State")
    ));
    for (value, label) in states {
        body.push_str(&format!(
            "<option value=\"{}\"{}>{}</option>",
            value,
            if state == Some(value) {
                " selected"
            } else {
                ""
            },
            label
        ));
    }
    body.push_str(&format!(
        "</select></label> <label>{} <select name=\"customer_id\"><option value=\"\">—</option>",
        w(l, "顧客", "Customer")
    ));
    for c in customers {
        body.push_str(&format!(
            "<option value=\"{}\"{}>{}</option>",
            c.id,
            if customer_id == Some(c.id) {
                " selected"
            } else {
                ""
            },
            esc(&c.name)
        ));
    }
    body.push_str(&format!(
        "</select></label> <button>{}</button></form>",
        w(l, "絞り込み", "Filter")
    ));
    body
}

fn state_label(l: Lang, s: EquipmentState) -> &'static str {
    let (ja, en) = s.label();
    w(l, ja, en)
}

#[derive(Deserialize)]
struct Filter {
    state: Option<String>,
    customer_id: Option<String>,
}

async fn list_page(State(s): State<AppState>, u: PanelUser, Query(q): Query<Filter>) -> Response {
    let l = u.lang;
    let state = q
        .state
        .as_deref()
        .filter(|v| !v.is_empty())
        .and_then(EquipmentState::parse);
    let customer_id = q
        .customer_id
        .as_deref()
        .and_then(|v| v.trim().parse::<i64>().ok());
    let list = match s
        .app
        .equipment_list(&u.actor, &EquipmentFilter { state, customer_id })
        .await
    {
        Ok(x) => x,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let customers = s.app.customers(&u.actor).await.unwrap_or_default();
    let name_of = |id: Option<i64>| {
        id.and_then(|id| customers.iter().find(|c| c.id == id))
            .map(|c| esc(&c.name))
            .unwrap_or_default()
    };
    let mut body = filter_form(
        l,
        "/equipment",
        EquipmentState::ALL.map(|st| (st.as_str(), state_label(l, st))),
        state.map(EquipmentState::as_str),
        &customers,
        customer_id,
    );
    body.push_str(&format!(
        "<table id=\"equipment\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        w(l, "シリアル番号", "Serial"),
        w(l, "機種", "Model"),
        w(l, "状態", "State"),
        w(l, "顧客", "Customer"),
        w(l, "更新", "Updated"),
    ));
    for e in &list {
        body.push_str(&format!(
            "<tr><td><a href=\"/equipment/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e.id,
            esc(&e.serial),
            esc(&e.model),
            state_label(l, e.placement.state),
            name_of(e.placement.customer_id),
            date(l, e.updated_at)
        ));
    }
    body.push_str("</tbody></table>");
    if list.is_empty() {
        body.push_str(&format!(
            "<p id=\"empty\">{}</p>",
            w(l, "該当する機器はありません。", "No equipment matches.")
        ));
    }
    page(l, Some(&u), w(l, "機器台帳", "Equipment inventory"), &body).into_response()
}

async fn unit_page(State(s): State<AppState>, u: PanelUser, Path(id): Path<String>) -> Response {
    let l = u.lang;
    let Ok(id) = id.parse::<i64>() else {
        return error_page(l, Some(&u), AppError::NotFound);
    };
    let (e, history) = match s.app.equipment(&u.actor, id).await {
        Ok(x) => x,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let mut body = format!(
        "<dl><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd id=\"state\">{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd></dl>",
        w(l, "機種", "Model"),
        esc(&e.model),
        w(l, "状態", "State"),
        state_label(l, e.placement.state),
        w(l, "顧客", "Customer"),
        e.placement
            .customer_id
            .map(|c| c.to_string())
            .unwrap_or_default(),
        w(l, "拠点", "Site"),
        e.placement
            .site_id
            .map(|c| c.to_string())
            .unwrap_or_default(),
    );
    body.push_str(&format!(
        "<h2>{}</h2><table id=\"history\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        w(l, "履歴", "History"),
        w(l, "日時", "When"),
        w(l, "変更", "Change"),
        w(l, "拠点", "Site"),
        w(l, "担当", "By"),
        w(l, "備考", "Note"),
    ));
    for h in &history {
        let from = h.from.map(|f| state_label(l, f)).unwrap_or("—");
        body.push_str(&format!(
            "<tr><td>{}</td><td>{} → {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            date(l, h.at),
            from,
            state_label(l, h.to),
            h.site_id.map(|c| c.to_string()).unwrap_or_default(),
            esc(&h.actor),
            esc(&h.note)
        ));
    }
    body.push_str("</tbody></table>");
    body.push_str(
        &crate::http::backoffice_panel::unit_contracts(&s.app, &u.actor, l == Lang::Ja, id).await,
    );
    if u.actor.customer_id.is_none()
        && matches!(u.actor.role, Role::Admin | Role::Operator)
        && e.placement.site_id.is_some()
        && e.placement.state == EquipmentState::Installed
    {
        body.push_str(&format!(
            "<h2>{}</h2><form method=\"post\" action=\"/equipment/{id}/enrolment-token\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><label>{} <input name=\"ttl_minutes\" value=\"60\" size=\"5\"></label> <button id=\"create_token\">{}</button></form>",
            w(l, "エージェントの登録", "Agent enrolment"),
            esc(&u.csrf),
            w(l, "有効期間（分）", "Valid for (minutes)"),
            w(l, "登録トークンを発行", "Create an enrolment token"),
        ));
    }
    body.push_str(&super::fleet::agent_section(&s.app, &u.actor, l, id).await);
    page(l, Some(&u), &e.serial, &body).into_response()
}
