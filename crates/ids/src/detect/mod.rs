//! Detection: rules compiled into a prefilter and per-rule programs, matched against an
//! [`Input`] that the traffic side (decoder, flows, streams, app-layer parsers) builds
//! for each packet and each application-layer transaction update.

pub mod input;

pub use input::{AppProto, BufferKind, Direction, FlowDetectState, Input, Layer4};
