//! The rules of erasure, shared by every function: request parsing, naming, splitting,
//! receipts, typed errors, and thin AWS adapters.

pub mod aws;
pub mod config;
pub mod error;
pub mod naming;
pub mod payload;
pub mod rate_limit;
pub mod receipt;
pub mod request_csv;
pub mod s3_event;
pub mod split;
pub mod steps;
pub mod telemetry;

pub use error::{ConfigError, ErasureError};
