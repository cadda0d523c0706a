//! `GET /export/{operators,overlap,crosswalk,scope-gaps}.csv` — with `?asOf=` and
//! `?format=json`. Operator data needs a bearer token; reference data is public.

use std::net::{IpAddr, SocketAddr};

use axum::Extension;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;
use serde::Deserialize;

use super::AppState;
use super::error::endpoint_error;
use super::graphql::Refusal;
use crate::domain::Principal;
use crate::graphql::ApiError;
use crate::services::export::{ExportKind, ExportQuery, Format, export};
use crate::services::workbook::{Headers, workbook};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportParams {
    as_of: Option<String>,
    /// Record time (RFC 3339): the export as the registry had recorded it then.
    known_at: Option<String>,
    format: Option<String>,
    /// The workbook's header rows: `ja` (default) or `en`.
    headers: Option<String>,
}

fn error(error: ApiError) -> Response {
    endpoint_error(&error)
}

/// The caller, or the answer that refuses it.
async fn admit(state: &AppState, headers: &HeaderMap, address: Option<IpAddr>) -> Result<Principal, Response> {
    state.admit(headers, address).await.map_err(|refusal| match refusal {
        Refusal::RateLimited(rejection) => rejection.into_response(),
        Refusal::Unauthenticated(e) => error(e),
    })
}

pub async fn export_file(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(params): Query<ExportParams>,
    connection: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> Response {
    let address = connection.map(|Extension(ConnectInfo(address))| address.ip());
    let query = match ExportQuery::parse(params.as_of.as_deref(), params.known_at.as_deref()) {
        Ok(query) => query,
        Err(e) => return error(e.into()),
    };
    if file == "workbook.xlsx" {
        return workbook_file(&state, &params, query, address, &headers).await;
    }
    let Some(kind) = file.strip_suffix(".csv").and_then(|name| name.parse::<ExportKind>().ok()) else {
        return error(ApiError::NotFound(format!(
            "no export \"{file}\" (operators.csv, overlap.csv, crosswalk.csv, scope-gaps.csv or workbook.xlsx)"
        )));
    };
    let format = match params.format.as_deref() {
        None | Some("csv") => Format::Csv,
        Some("json") => Format::Json,
        Some(other) => return error(ApiError::bad_input(format!("unknown format \"{other}\" (csv or json)"))),
    };
    let principal = match admit(&state, &headers, address).await {
        Ok(principal) => principal,
        Err(refused) => return refused,
    };
    // Errors until the first byte are answered as errors; one after it (the database
    // went away mid-download) can only cut the download short, and is logged.
    let started = match export(&state.services, &principal, kind, query).await {
        Ok(started) => started,
        Err(e) => return error(e.into()),
    };
    let chunks = started.encode(format).inspect_err(|e| tracing::error!(error = %e, "an export broke off"));
    let mut response = ([(header::CONTENT_TYPE, format.content_type())], Body::from_stream(chunks)).into_response();
    if format == Format::Csv {
        let name = format!("attachment; filename=\"{}-{}.csv\"", file.trim_end_matches(".csv"), query.as_of);
        if let Ok(value) = HeaderValue::from_str(&name) {
            response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
        }
    }
    response
}

/// `GET /export/workbook.xlsx`: every view in one Excel workbook (needs a token: it holds
/// the operators).
async fn workbook_file(
    state: &AppState,
    params: &ExportParams,
    query: ExportQuery,
    address: Option<IpAddr>,
    headers: &HeaderMap,
) -> Response {
    let labels = match params.headers.as_deref() {
        None | Some("ja") => Headers::Ja,
        Some("en") => Headers::En,
        Some(other) => return error(ApiError::bad_input(format!("unknown headers \"{other}\" (ja or en)"))),
    };
    let principal = match admit(state, headers, address).await {
        Ok(principal) => principal,
        Err(refused) => return refused,
    };
    match workbook(&state.services, &principal, query, labels).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, XLSX.to_owned()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"scope-registry-{}.xlsx\"", query.as_of)),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => error(e.into()),
    }
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
