//! libFuzzer target: one input is one `POST /graphql` through the real router (see
//! `scope_registry_fuzz::run` for how the bytes are read).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(violation) = scope_registry_fuzz::run(data) {
        panic!("{violation}");
    }
});
