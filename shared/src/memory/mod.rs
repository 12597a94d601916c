//! In-memory implementations of the ports (`ports.rs`), for the steps' unit tests: they keep
//! what the services would keep (object versions, jobs and their states, executions, a
//! destination's data per user), count calls, and fail on request. No AWS type, no network.

mod executions;
mod jobs;
mod models;
mod roles;
mod store;
mod target;

pub use executions::MemoryExecutions;
pub use jobs::MemoryJobs;
pub use models::MemoryModels;
pub use roles::MemoryRoles;
pub use store::MemoryStore;
pub use target::{Behaviour, FakeTarget};
