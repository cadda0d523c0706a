//! Per-client rate limit (GCRA, from `governor`): one budget per token, or per client
//! address for requests without one. Admin tokens are exempt unless configured.

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use uuid::Uuid;

use crate::config::Limits;
use crate::domain::{Principal, Role};

/// Forgotten budgets are dropped every this many checks, bounding memory however many
/// addresses call.
const CLEANUP_EVERY: u64 = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Client {
    Token(Uuid),
    Address(IpAddr),
}

pub struct RateLimiter {
    limiter: Option<DefaultKeyedRateLimiter<Client>>,
    limit_admin: bool,
    checks: AtomicU64,
}

impl RateLimiter {
    pub fn new(limits: &Limits) -> Self {
        let limiter = NonZeroU32::new(limits.rate_limit_per_minute).map(|per_minute| {
            let burst = NonZeroU32::new(limits.rate_limit_burst).unwrap_or(NonZeroU32::MIN);
            DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst))
        });
        Self { limiter, limit_admin: limits.rate_limit_admin, checks: AtomicU64::new(0) }
    }

    /// Spends one request of the client's budget; `Err` says how long to wait.
    pub fn check(&self, principal: &Principal, address: Option<IpAddr>) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        let client = match principal {
            Principal::Token { role: Role::Admin, .. } if !self.limit_admin => return Ok(()),
            Principal::Token { id, .. } => Client::Token(*id),
            // Requests without a peer address (in-process callers) share one budget.
            _ => Client::Address(address.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))),
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % CLEANUP_EVERY == CLEANUP_EVERY - 1 {
            limiter.retain_recent();
        }
        limiter.check_key(&client).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(role: Role) -> Principal {
        Principal::Token { id: Uuid::now_v7(), label: "t".into(), role, ministry: None }
    }

    #[test]
    fn budgets_are_per_client_and_admins_are_exempt() {
        let limits = Limits { rate_limit_per_minute: 60, rate_limit_burst: 2, ..Limits::default() };
        let limiter = RateLimiter::new(&limits);
        let reader = token(Role::Reader);
        assert!(limiter.check(&reader, None).is_ok());
        assert!(limiter.check(&reader, None).is_ok());
        let wait = limiter.check(&reader, None).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}");
        assert!(limiter.check(&token(Role::Reader), None).is_ok(), "another token has its own budget");
        let admin = token(Role::Admin);
        assert!((0..10).all(|_| limiter.check(&admin, None).is_ok()));

        let strict = RateLimiter::new(&Limits { rate_limit_admin: true, ..limits });
        assert!((0..3).any(|_| strict.check(&admin, None).is_err()));
    }

    #[test]
    fn zero_turns_it_off() {
        let limiter = RateLimiter::new(&Limits { rate_limit_per_minute: 0, ..Limits::default() });
        assert!((0..1000).all(|_| limiter.check(&Principal::Anonymous, None).is_ok()));
    }
}
