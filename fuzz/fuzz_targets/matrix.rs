#![no_main]
//! Rodrigues answer matrices (text), against three feature rows with ids 0, 1, 2.
use libfuzzer_sys::fuzz_target;
mod common;

fuzz_target!(|data: &[u8]| {
    let a = common::write("answers.txt", data);
    let f = common::write("features.csv", b"0,1,2\n1,3,4\n2,5,6\n");
    let _ = conal::data::table::TableSpec::new(a, f).load();
    // The LabelMe loader reads the same layout.
    let dir = common::scratch().join("labelme");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("answers.txt"), data);
    let _ = std::fs::write(dir.join("data_train.txt"), b"1 1:2\n1 2:1\n1 3:4\n");
    let _ = conal::data::labelme::load(&dir, conal::data::labelme::Features::Bow);
});
