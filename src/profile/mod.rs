//! What the operator wants: the profile file, its loading and its validation.

pub mod model;

pub use model::*;
