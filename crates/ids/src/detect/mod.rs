//! Detection: rules compiled into a prefilter and per-rule programs, matched against an
//! [`Input`] that the traffic side (decoder, flows, streams, app-layer parsers) builds
//! for each packet and each application-layer transaction update.

pub mod input;

pub use crate::rules::Action;
pub use input::{AppProto, BufferKind, Direction, FlowDetectState, Input, Layer4};

use crate::rules::Rule;
use std::collections::BTreeSet;

/// One alert (or drop/pass/reject decision) produced by a matching rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub action: Action,
    pub gid: u32,
    pub sid: u32,
    pub rev: u32,
    pub msg: String,
    pub category: String,
    pub severity: u8,
    /// Which transaction matched, for EVE metadata.
    pub tx_id: Option<u64>,
}

/// What the loaded rules need from the traffic side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Some rule inspects an application-layer buffer.
    pub app_layer: bool,
    /// Some rule inspects reassembled stream data.
    pub stream: bool,
    /// The buffers rules inspect.
    pub buffers: BTreeSet<BufferKind>,
}

/// Compiled rules, prefilter and threshold state.
#[derive(Debug)]
pub struct Detector {
    rules: Vec<Rule>,
}

impl Detector {
    pub fn new(rules: Vec<Rule>) -> Detector {
        Detector { rules }
    }

    /// Number of loaded rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Matches one input; appends alerts. May update flow state (flowbits, ...).
    pub fn inspect(&mut self, input: &Input<'_>, flow: &mut FlowDetectState, out: &mut Vec<Alert>) {
        let _ = (input, flow, out);
    }

    /// Whether any rule needs app-layer buffers / stream data (lets the engine skip work).
    pub fn needs(&self) -> Needs {
        Needs::default()
    }
}
