//! Mapping client errors to the engine's classes (to move under `resources` once the error
//! work lands).

pub mod errors;
