//! One module per workflow step: its settings (read once, in main) and its handler.

pub mod check_job;
pub mod create_job;
pub mod erase;
pub mod finalize;
pub mod models;
pub mod prepare;
pub mod start;
pub mod watch_deadlines;
