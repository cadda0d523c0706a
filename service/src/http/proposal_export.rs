//! `GET /export/proposals/{id}/impact.csv` (and `?format=json`): a scope revision
//! proposal's impact as the other exports are shaped (UTF-8 with BOM, CRLF; any token).

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::error::endpoint_error;
use super::graphql::Refusal;
use crate::graphql::ApiError;
use crate::services::proposals::impact_table;

#[derive(Deserialize)]
pub struct ImpactParams {
    format: Option<String>,
}

pub async fn impact_file(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
    Query(params): Query<ImpactParams>,
    connection: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> Response {
    let error = |e: ApiError| endpoint_error(&e);
    if file != "impact.csv" {
        return error(ApiError::NotFound(format!("no export \"{file}\" of a proposal (impact.csv)")));
    }
    let Ok(id) = Uuid::parse_str(&id) else {
        return error(ApiError::bad_input(format!("\"{id}\" is not a scope proposal id")));
    };
    let json = match params.format.as_deref() {
        None | Some("csv") => false,
        Some("json") => true,
        Some(other) => return error(ApiError::bad_input(format!("unknown format \"{other}\" (csv or json)"))),
    };
    let address = connection.map(|Extension(ConnectInfo(address))| address.ip());
    let principal = match state.admit(&headers, address).await {
        Ok(principal) => principal,
        Err(Refusal::RateLimited(rejection)) => return rejection.into_response(),
        Err(Refusal::Unauthenticated(e)) => return error(e),
    };
    let table = match impact_table(&state.services, &principal, id).await {
        Ok(table) => table,
        Err(e) => return error(e.into()),
    };
    if json {
        return axum::Json(table.to_json()).into_response();
    }
    match table.to_csv() {
        Ok(bytes) => {
            let disposition = format!("attachment; filename=\"proposal-{id}-impact.csv\"");
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                bytes,
            )
                .into_response()
        }
        Err(e) => error(e.into()),
    }
}
