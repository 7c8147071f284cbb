//! The interactive commands — `wizard` and `demo` — joining the terminal front ends to the
//! engine. The binding to the engine lives in [`backend`]; the front ends never see SSH.

pub mod backend;

pub use backend::EngineBackend;
pub mod interactive;
