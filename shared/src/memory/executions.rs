//! Step Functions executions in memory: a name is taken once.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::error::ErasureError;
use crate::ports::{Executions, Start};

/// Executions in memory: name to input.
#[derive(Default)]
pub struct MemoryExecutions {
    started: Mutex<BTreeMap<String, String>>,
}

impl MemoryExecutions {
    /// Every execution started: name to input.
    pub fn started(&self) -> BTreeMap<String, String> {
        self.started
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Executions for MemoryExecutions {
    async fn start(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &str,
    ) -> Result<Start, ErasureError> {
        let mut started = self.started.lock().unwrap_or_else(|e| e.into_inner());
        if started.contains_key(name) {
            return Ok(Start::Duplicate);
        }
        started.insert(name.to_string(), input.to_string());
        Ok(Start::Started(format!("{state_machine_arn}:{name}")))
    }
}
