#![no_main]
//! Long-form answers CSV and features CSV (split at the first NUL byte).
use libfuzzer_sys::fuzz_target;
mod common;

fuzz_target!(|data: &[u8]| {
    let (answers, features) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"a,1,2\nb,3,4\n"[..]),
    };
    let a = common::write("answers.csv", answers);
    let f = common::write("features.csv", features);
    let _ = conal::data::table::TableSpec::new(a, f).load();
});
