//! The rules of erasure, shared by every function: request parsing, naming, splitting,
//! receipts, typed errors, and thin AWS adapters.

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "aws")]
pub mod clock;
pub mod config;
#[cfg(feature = "aws")]
pub mod deadline;
pub mod error;
pub mod evidence;
pub mod fingerprint_set;
pub mod legal_clock;
pub mod limits;
pub mod map_results;
#[cfg(all(feature = "aws", any(test, feature = "memory")))]
pub mod memory;
pub mod metrics;
pub mod naming;
#[cfg(feature = "aws")]
pub mod open_requests;
#[cfg(feature = "aws")]
pub mod pacing;
pub mod payload;
#[cfg(feature = "aws")]
pub mod pieces;
#[cfg(feature = "aws")]
pub mod ports;
#[cfg(feature = "aws")]
pub mod purge;
#[cfg(feature = "aws")]
pub mod rate_limit;
pub mod receipt;
pub mod request_csv;
pub mod s3_event;
#[cfg(feature = "aws")]
pub mod shard_progress;
pub mod split;
#[cfg(feature = "aws")]
pub mod status;
#[cfg(feature = "aws")]
pub mod steps;
#[cfg(feature = "aws")]
pub mod telemetry;
pub mod user_hash;

pub use error::{ConfigError, ErasureError};
