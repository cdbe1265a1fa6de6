#![no_main]
//! .npy files, as float features and as integer answer matrices.
use libfuzzer_sys::fuzz_target;
mod common;

fuzz_target!(|data: &[u8]| {
    let p = common::write("x.npy", data);
    let _ = conal::data::npy::read_f32_matrix(&p);
    let _ = conal::data::npy::read_i64_matrix(&p);
});
