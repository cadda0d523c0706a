//! Whole answers to queries, kept by the exact request: other systems ask the same few
//! questions ("the sectors", "operator X today") over and over, and most of the cost of a
//! small answer is GraphQL handling, not data.
//!
//! An answer is kept under the *generation* of the caches it was computed from. Every
//! change the caches follow ([`super::Caches::apply`]) advances the generation once the
//! other caches have followed it, so an answer computed before a change is never given
//! after the change's use case returned (here) or the feed passed it on (elsewhere): the
//! answer cache is exactly as fresh as the caches it was computed from, and needs no
//! invalidation of its own. Which requests may be kept (queries answered from memory, not
//! as recorded at a past instant) is GraphQL's call (`graphql::answers`).

use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use chrono::NaiveDate;
use quick_cache::Weighter;
use quick_cache::sync::Cache;
use uuid::Uuid;

use crate::domain::Principal;

/// Bytes of answers (and the requests they answer) kept in all; the least used go first.
const CAPACITY_BYTES: u64 = 8 * 1024 * 1024;
/// What an entry costs beyond its bytes (the key and answer records, the allocations).
const ENTRY_OVERHEAD: usize = 256;
/// Answers kept at most (a bound on the cache's own bookkeeping).
const CAPACITY_ITEMS: usize = 65_536;
/// Larger answers (and requests) are computed every time (the statuses of hundreds of
/// operators, say): they are rarely asked twice, and would crowd out the many small ones.
const LARGEST_KEPT: usize = 32 * 1024;

/// Who asked: answers may differ by who asks, so each principal has its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Asker {
    Anonymous,
    Token(Uuid),
    CommandLine { user: String, ministry: Option<String> },
}

impl From<&Principal> for Asker {
    fn from(principal: &Principal) -> Self {
        match principal {
            Principal::Anonymous => Self::Anonymous,
            Principal::Token { id, .. } => Self::Token(*id),
            Principal::Cli { user, ministry } => Self::CommandLine { user: user.clone(), ministry: ministry.clone() },
        }
    }
}

/// One request exactly as it came: who asked, on which day in Japan (`asOf` defaults to
/// it), the body's bytes, and the generation the answer was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AnswerKey {
    generation: u64,
    asker: Asker,
    day: NaiveDate,
    body: Bytes,
}

/// A kept answer: the body sent, and what the metrics and logs say about it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub body: Bytes,
    pub cache_control: Option<String>,
    pub operation_name: Option<String>,
}

#[derive(Clone)]
struct AnswerWeight;

impl Weighter<AnswerKey, Answer> for AnswerWeight {
    fn weight(&self, key: &AnswerKey, answer: &Answer) -> u64 {
        (key.body.len() + answer.body.len() + answer.operation_name.as_ref().map_or(0, String::len) + ENTRY_OVERHEAD)
            as u64
    }
}

pub struct Answers {
    generation: AtomicU64,
    kept: Cache<AnswerKey, Answer, AnswerWeight>,
}

impl Default for Answers {
    fn default() -> Self {
        Self { generation: AtomicU64::new(0), kept: Cache::with_weighter(CAPACITY_ITEMS, CAPACITY_BYTES, AnswerWeight) }
    }
}

impl Answers {
    /// The key of `body` asked by `principal` now, or none for a body too large to be a
    /// repeated question (an import: the key would hold the whole body while it runs).
    /// Taken before the request is answered, so that an answer computed while a change was
    /// being applied is kept under the generation before it (and never given again).
    pub fn key(&self, principal: &Principal, day: NaiveDate, body: &Bytes) -> Option<AnswerKey> {
        (body.len() <= LARGEST_KEPT).then(|| AnswerKey {
            generation: self.generation.load(Ordering::Acquire),
            asker: principal.into(),
            day,
            body: body.clone(),
        })
    }

    pub fn get(&self, key: &AnswerKey) -> Option<Answer> {
        self.kept.get(key)
    }

    /// Keeps `answer` under `key` (unless it is too large to be worth keeping). Both are
    /// copied to allocations of their own size: a request body read from a connection
    /// shares that connection's whole read buffer, and would keep it alive.
    pub fn keep(&self, key: AnswerKey, answer: Answer) {
        if answer.body.len() <= LARGEST_KEPT {
            let key = AnswerKey { body: Bytes::copy_from_slice(&key.body), ..key };
            let answer = Answer { body: Bytes::copy_from_slice(&answer.body), ..answer };
            self.kept.insert(key, answer);
        }
    }

    /// The caches followed a change: no answer computed before it is given again, and the
    /// memory they hold is given back.
    pub(super) fn advance(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.kept.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(text: &str) -> Answer {
        Answer { body: Bytes::copy_from_slice(text.as_bytes()), cache_control: None, operation_name: None }
    }

    #[test]
    fn an_answer_is_given_to_the_same_request_of_the_same_asker_on_the_same_day_only() {
        let answers = Answers::default();
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let body = Bytes::from_static(b"{\"query\":\"{ sectors { code } }\"}");
        answers.keep(answers.key(&Principal::Anonymous, day, &body).unwrap(), answer("a"));
        assert_eq!(answers.get(&answers.key(&Principal::Anonymous, day, &body).unwrap()).unwrap().body, "a");
        let next_day = day.succ_opt().unwrap();
        assert!(answers.get(&answers.key(&Principal::Anonymous, next_day, &body).unwrap()).is_none());
        let reader = Principal::Token {
            id: Uuid::nil(),
            label: "r".into(),
            role: crate::domain::principal::Role::Reader,
            ministry: None,
        };
        assert!(answers.get(&answers.key(&reader, day, &body).unwrap()).is_none());
        assert!(answers.get(&answers.key(&Principal::Anonymous, day, &Bytes::from_static(b"{}")).unwrap()).is_none());
    }

    #[test]
    fn an_answer_computed_before_a_change_is_never_given_after_it() {
        let answers = Answers::default();
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let body = Bytes::from_static(b"{\"query\":\"{ sectors { code } }\"}");
        // Taken before the change, kept after it (a request that was being answered).
        let before = answers.key(&Principal::Anonymous, day, &body).unwrap();
        answers.advance();
        answers.keep(before, answer("old"));
        assert!(answers.get(&answers.key(&Principal::Anonymous, day, &body).unwrap()).is_none());
    }

    #[test]
    fn large_requests_have_no_key() {
        let answers = Answers::default();
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let import = Bytes::from(vec![b' '; LARGEST_KEPT + 1]);
        assert!(answers.key(&Principal::Anonymous, day, &import).is_none());
    }

    #[test]
    fn large_answers_are_not_kept() {
        let answers = Answers::default();
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let key = answers.key(&Principal::Anonymous, day, &Bytes::from_static(b"{}")).unwrap();
        answers.keep(key.clone(), answer(&"x".repeat(LARGEST_KEPT + 1)));
        assert!(answers.get(&key).is_none());
    }
}
