//! Bounds on WebSocket connections: in all, per client address (counted before the
//! upgrade, so that a refused connection costs nothing) and per token (counted when the
//! connection says who it is), and which browser origins may open one.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::{HeaderMap, header};
use uuid::Uuid;

use crate::config::{HttpSettings, Limits};

#[derive(Default)]
struct Counts {
    total: u32,
    by_address: HashMap<IpAddr, u32>,
    by_token: HashMap<Uuid, u32>,
}

/// The open WebSocket connections and their caps.
pub struct Connections {
    counts: Mutex<Counts>,
    max_total: u32,
    max_per_address: u32,
    max_per_token: u32,
    /// Browser origins other than the server's own that may connect.
    allowed_origins: Vec<String>,
}

/// Why a connection is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    TooMany(String),
    Origin(String),
}

impl Connections {
    pub fn new(limits: &Limits, http: &HttpSettings) -> Arc<Self> {
        Arc::new(Self {
            counts: Mutex::default(),
            max_total: limits.ws_max_connections,
            max_per_address: limits.ws_max_per_address,
            max_per_token: limits.ws_max_per_token,
            allowed_origins: http.cors_allow_origins.clone(),
        })
    }

    fn counts(&self) -> MutexGuard<'_, Counts> {
        // The counts stay right whatever panicked: each change is one statement.
        self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A browser may connect from this server's own origin, or from one allowed by
    /// `--cors-allow-origins`; a client that sends no `Origin` is not a browser page.
    pub fn check_origin(&self, headers: &HeaderMap) -> Result<(), Refused> {
        let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return Ok(()) };
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let authority = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        if (!host.is_empty() && authority.eq_ignore_ascii_case(host))
            || self.allowed_origins.iter().any(|o| o == origin)
        {
            Ok(())
        } else {
            Err(Refused::Origin(format!(
                "WebSocket connections from the origin {origin} are not allowed (same origin only, or those named by \
                 --cors-allow-origins)"
            )))
        }
    }

    /// Counts a connection from `address` (in all and per address), or refuses it.
    pub fn admit(self: &Arc<Self>, address: Option<IpAddr>) -> Result<AddressSlot, Refused> {
        let address = address.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let mut counts = self.counts();
        if counts.total >= self.max_total {
            return Err(Refused::TooMany(format!(
                "the server has {} WebSocket connections open, its limit; retry later",
                self.max_total
            )));
        }
        let from_address = counts.by_address.entry(address).or_default();
        if *from_address >= self.max_per_address {
            return Err(Refused::TooMany(format!(
                "{address} has {} WebSocket connections open, the limit per client address",
                self.max_per_address
            )));
        }
        *from_address += 1;
        counts.total += 1;
        Ok(AddressSlot { connections: self.clone(), address })
    }

    /// Counts a connection with `token`, or refuses it.
    pub fn admit_token(self: &Arc<Self>, token: Uuid) -> Result<TokenSlot, Refused> {
        let mut counts = self.counts();
        let with_token = counts.by_token.entry(token).or_default();
        if *with_token >= self.max_per_token {
            return Err(Refused::TooMany(format!(
                "this token has {} WebSocket connections open, the limit per token",
                self.max_per_token
            )));
        }
        *with_token += 1;
        Ok(TokenSlot { connections: self.clone(), token })
    }

    /// Connections open now (for tests and metrics).
    pub fn open(&self) -> u32 {
        self.counts().total
    }
}

fn release<K: std::hash::Hash + Eq>(map: &mut HashMap<K, u32>, key: &K) {
    if let Some(count) = map.get_mut(key) {
        *count = count.saturating_sub(1);
        if *count == 0 {
            map.remove(key);
        }
    }
}

/// A connection counted in all and for its address, until dropped.
pub struct AddressSlot {
    connections: Arc<Connections>,
    address: IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut counts = self.connections.counts();
        counts.total = counts.total.saturating_sub(1);
        release(&mut counts.by_address, &self.address);
    }
}

/// A connection counted for its token, until dropped.
pub struct TokenSlot {
    connections: Arc<Connections>,
    token: Uuid,
}

impl Drop for TokenSlot {
    fn drop(&mut self) {
        release(&mut self.connections.counts().by_token, &self.token);
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn connections(max_total: u32, max_per_address: u32, max_per_token: u32) -> Arc<Connections> {
        let limits = Limits {
            ws_max_connections: max_total,
            ws_max_per_address: max_per_address,
            ws_max_per_token: max_per_token,
            ..Limits::default()
        };
        let http =
            HttpSettings { cors_allow_origins: vec!["https://policy.example".into()], ..HttpSettings::default() };
        Connections::new(&limits, &http)
    }

    #[test]
    fn caps_count_open_connections_and_release_closed_ones() {
        let c = connections(3, 2, 1);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = c.admit(Some(a)).unwrap();
        let _second = c.admit(Some(a)).unwrap();
        assert!(matches!(c.admit(Some(a)), Err(Refused::TooMany(_))), "per address");
        let _third = c.admit(Some(b)).unwrap();
        assert!(matches!(c.admit(Some(b)), Err(Refused::TooMany(_))), "in all");
        drop(first);
        assert!(c.admit(Some(a)).is_ok(), "a closed connection frees its place");
        let token = Uuid::nil();
        let held = c.admit_token(token).unwrap();
        assert!(c.admit_token(token).is_err());
        drop(held);
        assert!(c.admit_token(token).is_ok());
    }

    #[test]
    fn browsers_connect_from_the_same_origin_or_an_allowed_one() {
        let c = connections(10, 10, 10);
        let headers = |origin: Option<&str>| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, HeaderValue::from_static("registry.example:8080"));
            if let Some(origin) = origin {
                h.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
            }
            h
        };
        assert!(c.check_origin(&headers(None)).is_ok(), "not a browser");
        assert!(c.check_origin(&headers(Some("http://registry.example:8080"))).is_ok());
        assert!(c.check_origin(&headers(Some("https://policy.example"))).is_ok());
        assert!(c.check_origin(&headers(Some("https://evil.example"))).is_err());
    }
}
