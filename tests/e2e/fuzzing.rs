//! The fuzz target's short mode, run by every `cargo test`: the checked-in corpus of
//! `fuzz/` and a fixed number of mutations of it go through the same harness as
//! `cargo fuzz run graphql_request`, without the instrumented build (see the README,
//! Fuzzing).

#[path = "../../fuzz/src/lib.rs"]
mod request_harness;

use rand::{Rng as _, SeedableRng};
use std::path::PathBuf;

/// Mutated inputs per run: a few seconds.
const MUTATIONS: usize = 4000;

/// Fragments worth splicing into GraphQL requests.
const DICTIONARY: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"\"",
    b"\\",
    b"\\u0000",
    b"...",
    b"...F",
    b" fragment F on Sector { code ...F } ",
    b"@skip(if: true)",
    b"$v",
    b"null",
    b"mutation ",
    b"query Q($v: String) ",
    b"9999-12-31",
    b"0000-00-00",
    b"\xef\xbc\x97",
    b"__typename",
    b"first: -1",
    b"first: 2147483647",
    b"'; DROP TABLE operator; --",
];

/// A seeded generator, so that a failure replays exactly.
type Rng = rand_chacha::ChaCha8Rng;

/// A number below `n` (0 when `n` is 0).
fn below(rng: &mut Rng, n: usize) -> usize {
    rng.random_range(0..n.max(1))
}

fn mutate(corpus: &[Vec<u8>], rng: &mut Rng) -> Vec<u8> {
    let mut input = corpus[below(rng, corpus.len())].clone();
    for _ in 0..=below(rng, 4) {
        let at = below(rng, input.len() + 1);
        match below(rng, 6) {
            0 if !input.is_empty() => {
                let last = input.len() - 1;
                input[at.min(last)] = rng.random::<u8>();
            }
            1 => {
                let word = DICTIONARY[below(rng, DICTIONARY.len())];
                input.splice(at..at, word.iter().copied());
            }
            2 => {
                let end = (at + below(rng, 16)).min(input.len());
                input.drain(at..end);
            }
            3 => {
                let other = &corpus[below(rng, corpus.len())];
                let from = below(rng, other.len());
                input.truncate(at);
                input.extend_from_slice(&other[from..]);
            }
            4 => {
                let end = (at + below(rng, 64)).min(input.len());
                let copy = input[at..end].repeat(1 + below(rng, 8));
                input.splice(at..at, copy);
            }
            _ if !input.is_empty() => input[0] = rng.random::<u8>(),
            _ => {}
        }
    }
    input
}

#[test]
fn the_fuzz_corpus_and_mutations_of_it_are_answered_cleanly() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/graphql_request");
    let mut paths: Vec<PathBuf> =
        std::fs::read_dir(&dir).expect("fuzz corpus").map(|e| e.expect("entry").path()).collect();
    paths.sort();
    let corpus: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).expect("corpus file")).collect();
    assert!(corpus.len() >= 20, "the corpus has its seeds");
    for (path, input) in paths.iter().zip(&corpus) {
        if let Err(violation) = request_harness::run(input) {
            panic!("{}: {violation}", path.display());
        }
    }
    let mut rng = Rng::seed_from_u64(0x5c09_e4e9_1577_2026);
    for i in 0..MUTATIONS {
        let input = mutate(&corpus, &mut rng);
        if let Err(violation) = request_harness::run(&input) {
            panic!("mutation {i} ({:?}): {violation}", String::from_utf8_lossy(&input));
        }
    }
}
