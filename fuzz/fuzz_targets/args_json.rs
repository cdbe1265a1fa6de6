#![no_main]
//! args.json of a checkpoint directory, then the worker statistics file.
use libfuzzer_sys::fuzz_target;
mod common;

fuzz_target!(|data: &[u8]| {
    let dir = common::scratch().join("ckpt");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("args.json"), data);
    let _ = std::fs::write(dir.join("workers.json"), data);
    if let Ok(config) = conal::spec::RunConfig::load(&dir) {
        let _ = config.check();
    }
    let _ = conal::checkpoint::WorkerStats::load(&dir);
});
