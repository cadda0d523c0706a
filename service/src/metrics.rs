//! Prometheus metrics, served at `GET /metrics` in the OpenMetrics text format.
//!
//! Labels only ever hold bounded, non-secret values: route templates, status codes,
//! outcome codes and (capped, sanitised) GraphQL operation names. Database figures are
//! read from [`Db`] at scrape time.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::services::Services;

/// The content type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Distinct operation names kept as label values; later ones are counted as "other", so
/// that clients cannot grow the metrics without bound.
const MAX_OPERATION_NAMES: usize = 200;
const MAX_OPERATION_NAME_CHARS: usize = 64;

/// Latency buckets in seconds: from a cached look-up to the request timeout.
const LATENCY_BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GraphqlLabels {
    operation: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The service's metrics; cheap to clone, one per running application.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: HistogramFamily<RouteLabel>,
    graphql_requests: Family<GraphqlLabels, Counter>,
    graphql_duration: HistogramFamily<OperationLabel>,
    operation_names: Mutex<HashSet<String>>,
}

impl Metrics {
    pub fn new(services: Arc<Services>) -> Self {
        let mut registry = Registry::with_prefix("scope_registry");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests by route, method and status", http_requests.clone());
        let http_duration = HistogramFamily::<RouteLabel>::new_with_constructor(latency_histogram as fn() -> _);
        registry.register_with_unit(
            "http_request_duration",
            "HTTP request latency by route",
            prometheus_client::registry::Unit::Seconds,
            http_duration.clone(),
        );
        let graphql_requests = Family::<GraphqlLabels, Counter>::default();
        registry.register(
            "graphql_requests",
            "GraphQL requests by operation name and outcome (ok, or the first error's code)",
            graphql_requests.clone(),
        );
        let graphql_duration = HistogramFamily::<OperationLabel>::new_with_constructor(latency_histogram as fn() -> _);
        registry.register_with_unit(
            "graphql_request_duration",
            "GraphQL execution latency by operation name",
            prometheus_client::registry::Unit::Seconds,
            graphql_duration.clone(),
        );
        registry.register_collector(Box::new(DatabaseCollector(services)));
        Self {
            inner: Arc::new(Inner {
                registry,
                http_requests,
                http_duration,
                graphql_requests,
                graphql_duration,
                operation_names: Mutex::new(HashSet::new()),
            }),
        }
    }

    /// Counts one HTTP request; `route` is the matched route template, never the raw path.
    pub fn http_request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let labels = HttpLabels { route: route.to_owned(), method: method.to_owned(), status };
        self.inner.http_requests.get_or_create(&labels).inc();
        self.inner.http_duration.get_or_create(&RouteLabel { route: route.to_owned() }).observe(elapsed.as_secs_f64());
    }

    /// Counts one GraphQL request. `outcome` is "ok" or an error code.
    pub fn graphql_request(&self, operation: Option<&str>, outcome: &str, elapsed: Duration) {
        let operation = self.operation_label(operation);
        self.inner
            .graphql_requests
            .get_or_create(&GraphqlLabels { operation: operation.clone(), outcome: outcome.to_owned() })
            .inc();
        self.inner.graphql_duration.get_or_create(&OperationLabel { operation }).observe(elapsed.as_secs_f64());
    }

    /// A bounded label for a client-chosen operation name.
    fn operation_label(&self, name: Option<&str>) -> String {
        let Some(name) = name else {
            return "anonymous".to_owned();
        };
        let is_graphql_name = !name.is_empty()
            && name.len() <= MAX_OPERATION_NAME_CHARS
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !name.as_bytes()[0].is_ascii_digit();
        if !is_graphql_name {
            return "invalid".to_owned();
        }
        let Ok(mut known) = self.inner.operation_names.lock() else {
            return "other".to_owned();
        };
        if known.contains(name) || known.len() < MAX_OPERATION_NAMES {
            known.insert(name.to_owned());
            name.to_owned()
        } else {
            "other".to_owned()
        }
    }

    /// The metrics in the OpenMetrics text format.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.inner.registry)?;
        Ok(text)
    }
}

/// Reads the connection pool and the database counters at scrape time.
struct DatabaseCollector(Arc<Services>);

impl std::fmt::Debug for DatabaseCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseCollector")
    }
}

impl Collector for DatabaseCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let pool = self.0.db().pool_status();
        let in_use = pool.size.saturating_sub(pool.idle);
        for (name, help, value) in [
            ("db_pool_connections_in_use", "Database connections running a statement or transaction", in_use),
            ("db_pool_connections_idle", "Open database connections waiting in the pool", pool.idle),
            ("db_pool_connections_max", "Largest number of database connections the pool opens", pool.max),
        ] {
            let gauge = ConstGauge::new(i64::from(value));
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        for (name, help, value) in [
            ("db_statements", "SQL statements run since start", self.0.db().statement_count()),
            (
                "audit_events_written",
                "Audit events (changes and denied attempts) this process recorded since start",
                self.0.audit_events_written(),
            ),
        ] {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Db, PoolSettings};

    #[tokio::test]
    async fn operation_names_are_bounded_and_sanitised() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("metrics.db").display());
        let db = Db::connect(&url, &PoolSettings::default(), true).await.unwrap();
        db.migrate().await.unwrap();
        let metrics = Metrics::new(crate::app::command_services(&db).await.unwrap());
        assert_eq!(metrics.operation_label(None), "anonymous");
        assert_eq!(metrics.operation_label(Some("Statuses")), "Statuses");
        for bad in ["", "1abc", "a b", "sr_token\"} 1", &"x".repeat(65)] {
            assert_eq!(metrics.operation_label(Some(bad)), "invalid", "{bad}");
        }
        for i in 0..MAX_OPERATION_NAMES {
            metrics.operation_label(Some(&format!("Op{i}")));
        }
        assert_eq!(metrics.operation_label(Some("OneTooMany")), "other");
        assert_eq!(metrics.operation_label(Some("Statuses")), "Statuses", "known names stay");
    }
}
