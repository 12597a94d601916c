//! The small JSON documents that travel between the steps (never user IDs: those stay in S3).

mod finalize;
mod jobs;
mod models;
mod request;
mod shards;

pub use finalize::*;
pub use jobs::*;
pub use models::*;
pub use request::*;
pub use shards::*;

use crate::naming::RequestId;

/// A step's input that belongs to one request (so its logs can carry the execution name).
pub trait ForRequest {
    /// The request ID.
    fn request_id(&self) -> &RequestId;
}

impl ForRequest for ExecutionInput {
    fn request_id(&self) -> &RequestId {
        &self.request.request_id
    }
}

impl ForRequest for JobItem {
    fn request_id(&self) -> &RequestId {
        &self.spec.request_id
    }
}

impl ForRequest for JobSpec {
    fn request_id(&self) -> &RequestId {
        &self.request_id
    }
}

impl ForRequest for ShardSpec {
    fn request_id(&self) -> &RequestId {
        &self.request_id
    }
}

impl ForRequest for ModelsInput {
    fn request_id(&self) -> &RequestId {
        &self.request().request_id
    }
}

impl ForRequest for FinalizeInput {
    fn request_id(&self) -> &RequestId {
        &self.request.request_id
    }
}

#[cfg(test)]
mod tests;
