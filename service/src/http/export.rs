//! `GET /export/{operators,overlap,crosswalk,scope-gaps}.csv` — with `?asOf=`, `?knownAt=`
//! (record time) and `?format=json`. Operator data needs a bearer token; reference data is public.

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::error::endpoint_error;
use super::graphql::Refusal;
use crate::domain::date::parse_date;
use crate::domain::today;
use crate::graphql::ApiError;
use crate::services::export::{ExportKind, export};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportParams {
    as_of: Option<String>,
    /// Record time (RFC 3339): the export as the registry had recorded it then.
    known_at: Option<String>,
    format: Option<String>,
}

fn error(error: ApiError) -> Response {
    endpoint_error(&error)
}

pub async fn export_file(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(params): Query<ExportParams>,
    connection: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> Response {
    let address = connection.map(|Extension(ConnectInfo(address))| address.ip());
    let Some(kind) = file.strip_suffix(".csv").and_then(|name| name.parse::<ExportKind>().ok()) else {
        return error(ApiError::NotFound(format!(
            "no export \"{file}\" (operators.csv, overlap.csv, crosswalk.csv or scope-gaps.csv)"
        )));
    };
    let as_of = match params.as_of.as_deref().map(parse_date).transpose() {
        Ok(date) => date.unwrap_or_else(today),
        Err(e) => return error(ApiError::bad_input(format!("asOf: {e}"))),
    };
    let known_at = match params.known_at.as_deref().map(chrono::DateTime::parse_from_rfc3339).transpose() {
        Ok(at) => at.map(|at| at.to_utc()),
        Err(e) => {
            return error(ApiError::bad_input(format!(
                "knownAt: {e} (an RFC 3339 instant, e.g. 2026-04-01T09:00:00Z)"
            )));
        }
    };
    let json = match params.format.as_deref() {
        None | Some("csv") => false,
        Some("json") => true,
        Some(other) => return error(ApiError::bad_input(format!("unknown format \"{other}\" (csv or json)"))),
    };
    let principal = match state.admit(&headers, address).await {
        Ok(principal) => principal,
        Err(Refusal::RateLimited(rejection)) => return rejection.into_response(),
        Err(Refusal::Unauthenticated(e)) => return error(e),
    };
    let table = match export(&state.services, &principal, kind, as_of, known_at).await {
        Ok(table) => table,
        Err(e) => return error(e.into()),
    };
    if json {
        return axum::Json(table.to_json()).into_response();
    }
    match table.to_csv() {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}-{as_of}.csv\"", file.trim_end_matches(".csv")),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => error(e.into()),
    }
}
