//! Ids numbered in order of first appearance, for the readers of masks and embeddings.

use rustc_hash::FxHashMap;

/// Ids numbered in order of first appearance.
#[derive(Debug, Default)]
pub(crate) struct Ids {
    /// The ids, by code.
    pub names: Vec<String>,
    index: FxHashMap<String, u32>,
}

impl Ids {
    /// `id`'s code, a new one when it is new.
    pub fn code(&mut self, id: &str) -> u32 {
        if let Some(&c) = self.index.get(id) {
            return c;
        }
        let c = self.names.len() as u32;
        self.names.push(id.to_string());
        self.index.insert(id.to_string(), c);
        c
    }
}
