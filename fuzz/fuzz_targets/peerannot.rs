#![no_main]
//! peerannot answers.json.
use libfuzzer_sys::fuzz_target;
mod common;

fuzz_target!(|data: &[u8]| {
    let a = common::write("answers.json", data);
    let f = common::write("features.csv", b"a,1,2\nb,3,4\n0,5,6\n1,7,8\n");
    let _ = conal::data::table::TableSpec::new(a, f).load();
});
