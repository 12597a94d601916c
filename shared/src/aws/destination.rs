//! Every kind of destination the erase function is configured with, as one [`ErasureTarget`]:
//! the shard loop takes a slice of one type.

use super::customer_profiles::ProfilesDomain;
use super::pinpoint::PinpointApp;
use crate::error::ErasureError;
use crate::ports::{Erased, ErasureTarget, Holding, TargetKind};

/// A Pinpoint application or a Customer Profiles domain.
pub enum Destination<'a> {
    /// A Pinpoint application.
    Pinpoint(PinpointApp<'a>),
    /// A Customer Profiles domain.
    Profiles(ProfilesDomain<'a>),
}

impl ErasureTarget for Destination<'_> {
    fn kind(&self) -> TargetKind {
        match self {
            Destination::Pinpoint(t) => t.kind(),
            Destination::Profiles(t) => t.kind(),
        }
    }

    fn id(&self) -> &str {
        match self {
            Destination::Pinpoint(t) => t.id(),
            Destination::Profiles(t) => t.id(),
        }
    }

    async fn check(&self) -> Result<(), ErasureError> {
        match self {
            Destination::Pinpoint(t) => t.check().await,
            Destination::Profiles(t) => t.check().await,
        }
    }

    fn unusable(&self, error: &ErasureError) -> &'static str {
        match self {
            Destination::Pinpoint(t) => t.unusable(error),
            Destination::Profiles(t) => t.unusable(error),
        }
    }

    async fn erase(&self, user: &str) -> Result<Erased, ErasureError> {
        match self {
            Destination::Pinpoint(t) => t.erase(user).await,
            Destination::Profiles(t) => t.erase(user).await,
        }
    }

    async fn preview(&self, user: &str) -> Result<Holding, ErasureError> {
        match self {
            Destination::Pinpoint(t) => t.preview(user).await,
            Destination::Profiles(t) => t.preview(user).await,
        }
    }
}
