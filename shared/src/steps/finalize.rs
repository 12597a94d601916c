//! Finalisation: decide the outcome, write the receipt.

use crate::aws::s3;
use crate::config;
use crate::error::{ConfigError, ErasureError};
use crate::naming::RequestId;
use crate::payload::{FinalizeInput, FinalizeOutput, S3Ref};
use crate::receipt::Receipt;
use crate::steps::now_rfc3339;

/// Settings of finalisation.
#[derive(Debug, Clone)]
pub struct FinalizeConfig {
    /// Where receipts go.
    pub receipt_prefix: String,
    /// The Pinpoint applications the workflow erases from (so a missing one shows in the receipt).
    pub application_ids: Vec<String>,
}

impl FinalizeConfig {
    /// Reads RECEIPT_PREFIX and PINPOINT_APPLICATION_IDS.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(FinalizeConfig {
            receipt_prefix: config::prefix("RECEIPT_PREFIX", "receipts/")?,
            application_ids: config::list("PINPOINT_APPLICATION_IDS")?,
        })
    }
}

/// Writes the receipt and returns the outcome.
pub async fn handle(
    cfg: &FinalizeConfig,
    client: &aws_sdk_s3::Client,
    input: FinalizeInput,
) -> Result<FinalizeOutput, ErasureError> {
    let id = RequestId::parse(&input.request.request_id).ok_or_else(|| {
        ErasureError::Invalid("the execution input has a malformed request ID".into())
    })?;
    let receipt = Receipt::build(&input, &cfg.application_ids, now_rfc3339());
    let key = id.receipt_key(&cfg.receipt_prefix);
    let body =
        serde_json::to_vec_pretty(&receipt).map_err(|e| ErasureError::Invalid(e.to_string()))?;
    s3::put(
        client,
        &input.request.bucket,
        &key,
        body,
        "application/json",
    )
    .await?;
    tracing::info!(
        request_id = %id,
        outcome = ?receipt.outcome,
        receipt = %key,
        "receipt written"
    );
    Ok(FinalizeOutput {
        outcome: receipt.outcome,
        reason: receipt.reason,
        receipt: S3Ref {
            bucket: input.request.bucket.clone(),
            key,
        },
    })
}
