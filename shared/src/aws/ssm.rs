//! The user-hash key, read once per process from SSM Parameter Store (a SecureString).

use super::errors::from_sdk;
use crate::error::ErasureError;
use crate::user_hash::UserHasher;

/// Reads the key named by `USER_HASH_KEY_PARAMETER`; `None` when the variable is unset or empty
/// (receipts then carry counts only, no per-user evidence).
pub async fn user_hasher(conf: &aws_config::SdkConfig) -> Result<Option<UserHasher>, ErasureError> {
    let name = std::env::var("USER_HASH_KEY_PARAMETER").unwrap_or_default();
    if name.trim().is_empty() {
        return Ok(None);
    }
    let client = aws_sdk_ssm::Client::new(conf);
    let out = client
        .get_parameter()
        .name(name.trim())
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| from_sdk("GetParameter", &e, true))?;
    let value = out
        .parameter()
        .and_then(|p| p.value())
        .ok_or_else(|| ErasureError::Invalid("the user hash key parameter has no value".into()))?;
    UserHasher::new(value.trim().as_bytes())
        .map(Some)
        .map_err(ErasureError::Invalid)
}
