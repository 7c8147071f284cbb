//! The phases of a run, in order. Each file owns one phase with the same small contract: decide
//! from facts and the desired state whether this host needs it (skip with a reason when not), run
//! it, and report through the host's [`Emitter`](crate::engine::events::Emitter).

pub mod facts;
pub mod preflight;
