//! The fleet view: per unit installed at a site, its customer and site, last contact,
//! applied vs desired generation, failed applies and drift, with filters by customer
//! and state, in the panel (`/fleet`, Japanese and English; the REST API's
//! `GET /api/v1/fleet` is `http/api/fleet.rs`); [`agent_section`] shows one unit's
//! agent on its page.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::gateways::{filter_form, w};
use super::{AppState, Lang, PanelUser, date, error_page, esc, page};
use crate::domain::Actor;
use crate::gateways::reconcile::{FleetFilter, FleetState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/fleet", get(fleet_page))
}

#[derive(Deserialize)]
pub(crate) struct Filter {
    state: Option<String>,
    customer_id: Option<String>,
}

fn filter_of(q: &Filter) -> Result<FleetFilter, String> {
    let state = match q.state.as_deref().filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(FleetState::parse(v).ok_or_else(|| {
            format!(
                "state: {v:?} is not a fleet state; one of: {}",
                FleetState::ALL.map(|s| s.as_str()).join(", ")
            )
        })?),
    };
    let customer_id = match q
        .customer_id
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| format!("customer_id: {v:?} is not a number"))?,
        ),
    };
    Ok(FleetFilter { customer_id, state })
}

fn state_label(l: Lang, s: FleetState) -> &'static str {
    let (ja, en) = s.label();
    w(l, ja, en)
}

fn apply_label(l: Lang, s: &str) -> &'static str {
    match s {
        "applied" => w(l, "適用済み", "applied"),
        "apply_failed" => w(l, "適用失敗", "apply failed"),
        "rolled_back" => w(l, "自動ロールバック", "rolled back"),
        "refused" => w(l, "拒否", "refused"),
        _ => "—",
    }
}

fn generation(g: Option<i64>) -> String {
    g.map(|g| g.to_string()).unwrap_or_else(|| "—".into())
}

async fn fleet_page(State(s): State<AppState>, u: PanelUser, Query(q): Query<Filter>) -> Response {
    let l = u.lang;
    let f = filter_of(&q).unwrap_or_default();
    let rows = match s.app.fleet(&u.actor, &f).await {
        Ok(r) => r,
        Err(e) => return error_page(l, Some(&u), e),
    };
    let customers = s.app.customers(&u.actor).await.unwrap_or_default();
    let mut body = filter_form(
        l,
        "/fleet",
        FleetState::ALL.map(|st| (st.as_str(), state_label(l, st))),
        f.state.map(FleetState::as_str),
        &customers,
        f.customer_id,
    );
    body.push_str(&format!(
        "<table id=\"fleet\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        w(l, "機器", "Unit"),
        w(l, "顧客", "Customer"),
        w(l, "拠点", "Site"),
        w(l, "状態", "State"),
        w(l, "最終接続", "Last contact"),
        w(l, "適用世代 / 指定世代", "Applied / desired"),
        w(l, "直近の適用", "Last apply"),
        w(l, "ドリフト", "Drift"),
    ));
    for r in &rows {
        let st = r.state();
        body.push_str(&format!(
            "<tr class=\"{}\"><td><a href=\"/equipment/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td><td>{}{}</td><td>{}</td></tr>",
            st.as_str(),
            r.equipment_id,
            esc(&r.serial),
            esc(&r.customer_name),
            esc(&r.site_name),
            state_label(l, st),
            r.last_contact.map(|t| date(l, t)).unwrap_or_else(|| "—".into()),
            generation(r.applied_generation),
            generation(r.desired_generation),
            r.apply_state.as_deref().map(|a| apply_label(l, a)).unwrap_or("—"),
            r.apply_error
                .as_deref()
                .filter(|_| r.apply_state.as_deref() != Some("applied"))
                .map(|e| format!("<br><small>{}</small>", esc(e)))
                .unwrap_or_default(),
            r.drift.as_deref().map(esc).unwrap_or_else(|| "—".into()),
        ));
    }
    body.push_str("</tbody></table>");
    if rows.is_empty() {
        body.push_str(&format!(
            "<p id=\"empty\">{}</p>",
            w(l, "該当する機器はありません。", "No unit matches.")
        ));
    }
    page(l, Some(&u), w(l, "フリート", "Fleet"), &body).into_response()
}

/// The agent part of a unit's page: last contact, applied generation, the last apply
/// (with its error), drift, and the newest reports. Empty when the agent never spoke.
pub async fn agent_section(app: &crate::app::App, actor: &Actor, l: Lang, id: i64) -> String {
    let Ok((Some(st), reports)) = app.agent_status(actor, id).await else {
        return String::new();
    };
    let mut out = format!(
        "<h2>{}</h2><dl id=\"agent\"><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd id=\"applied\">{}</dd><dt>{}</dt><dd id=\"last-apply\">{} {}</dd><dt>{}</dt><dd id=\"drift\">{}</dd></dl>",
        w(l, "エージェント", "Agent"),
        w(l, "最終接続", "Last contact"),
        date(l, st.last_contact),
        w(l, "適用世代", "Applied generation"),
        st.applied_generation,
        w(l, "直近の適用", "Last apply"),
        apply_label(l, &st.apply_state),
        st.apply_error
            .as_deref()
            .map(|e| format!(
                "({} {}: {})",
                w(l, "世代", "generation"),
                generation(st.apply_generation),
                esc(e)
            ))
            .unwrap_or_default(),
        w(l, "ドリフト", "Drift"),
        st.drift
            .as_deref()
            .map(esc)
            .unwrap_or_else(|| w(l, "なし", "none").into()),
    );
    out.push_str(&format!(
        "<table id=\"reports\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        w(l, "日時", "When"),
        w(l, "報告", "Report"),
        w(l, "世代", "Generation"),
        w(l, "詳細", "Detail"),
    ));
    for r in &reports {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            date(l, r.at),
            esc(&r.kind),
            r.generation,
            esc(&r.detail)
        ));
    }
    out.push_str("</tbody></table>");
    out
}
