//! What the models step (the check before the deletion jobs, the retraining after them) is
//! invoked with and returns.

use serde::{Deserialize, Serialize};

use super::{MapPlan, RequestObject};

/// The two things the models function does, told apart by `action`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum ModelsInput {
    /// Before any deletion job: is anything importing or training on the dataset groups?
    Preflight {
        /// The request file.
        request: RequestObject,
    },
    /// After the deletion jobs: retrain every solution, move its campaigns.
    Retrain {
        /// The request file.
        request: RequestObject,
        /// The deletion jobs' plan (its manifest names every job).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        jobs: Option<MapPlan>,
    },
    /// A preview: what the deletion jobs and the retraining would touch, read-only.
    Plan {
        /// The request file.
        request: RequestObject,
        /// The deletion jobs that would run (their manifest).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        jobs: Option<MapPlan>,
    },
}

impl ModelsInput {
    /// The request file.
    pub fn request(&self) -> &RequestObject {
        match self {
            Self::Preflight { request }
            | Self::Retrain { request, .. }
            | Self::Plan { request, .. } => request,
        }
    }
}

/// Whether to look again, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelsStep {
    /// True when this step has nothing more to wait for.
    pub done: bool,
    /// Seconds until the next look.
    pub next_poll_seconds: u64,
}
