//! The engine's run events, as the dashboard reads them: the engine's own types, re-exported.
pub use crate::engine::events::*;
