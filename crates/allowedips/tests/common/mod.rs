//! Helpers shared by the integration tests (and, through `#[path]`, by the benchmark).

pub mod gen;
pub mod oracle;
