//! The rules of erasure, shared by every function: request parsing, naming, splitting,
//! receipts, typed errors, and thin AWS adapters.

#[cfg(feature = "aws")]
pub mod aws;
pub mod config;
pub mod error;
pub mod evidence;
pub mod fingerprint_set;
pub mod limits;
pub mod map_results;
pub mod metrics;
pub mod naming;
pub mod payload;
#[cfg(feature = "aws")]
pub mod rate_limit;
pub mod receipt;
pub mod request_csv;
pub mod s3_event;
pub mod split;
#[cfg(feature = "aws")]
pub mod steps;
#[cfg(feature = "aws")]
pub mod telemetry;
pub mod user_hash;

pub use error::{ConfigError, ErasureError};
