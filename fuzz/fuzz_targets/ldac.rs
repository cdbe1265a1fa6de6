#![no_main]
//! LDA-C bag-of-words files (LabelMe's data_*.txt).
use libfuzzer_sys::fuzz_target;
mod common;

fuzz_target!(|data: &[u8]| {
    let dir = common::scratch().join("ldac");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("data_train.txt"), data);
    let _ = conal::data::labelme::read_features(
        &dir,
        conal::data::labelme::Split::Train,
        conal::data::labelme::Features::Bow,
        None,
    );
    let _ = conal::data::labelme::read_features(
        &dir,
        conal::data::labelme::Split::Train,
        conal::data::labelme::Features::Bow,
        Some(200),
    );
});
