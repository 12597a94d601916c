//! The user-hash key, read once per process from SSM Parameter Store (a SecureString).
//!
//! The read starts when the process does but is not waited for there: init ends (and the
//! function asks for work) one SSM round trip sooner, and the read goes on beside the first
//! request's own first calls. The prepare step waits for the key only once the request object
//! is open; the finalize step once the receipt is built. A read that failed is tried again on the next
//! request that needs the key, and its error is that request's, typed like any other SDK error.

use super::errors::from_sdk;
use crate::error::ErasureError;
use crate::user_hash::UserHasher;

type Read = tokio::task::JoinHandle<Result<Option<UserHasher>, ErasureError>>;

/// The key being read: [`UserHasherLoad::start`] at init, [`UserHasherLoad::get`] where it is used.
pub struct UserHasherLoad {
    name: String,
    conf: aws_config::SdkConfig,
    started: std::sync::Mutex<Option<Read>>,
    key: tokio::sync::OnceCell<Option<UserHasher>>,
}

impl UserHasherLoad {
    /// Starts reading the key named by `USER_HASH_KEY_PARAMETER`, without waiting for it; with
    /// the variable unset or empty there is no key (receipts then carry counts only). Must be
    /// called inside the Tokio runtime.
    pub fn start(conf: &aws_config::SdkConfig) -> Self {
        let name = std::env::var("USER_HASH_KEY_PARAMETER")
            .unwrap_or_default()
            .trim()
            .to_string();
        let started = (!name.is_empty()).then(|| tokio::spawn(read(conf.clone(), name.clone())));
        UserHasherLoad {
            name,
            conf: conf.clone(),
            started: std::sync::Mutex::new(started),
            key: tokio::sync::OnceCell::new(),
        }
    }

    /// The key: waits for what is left of the read begun at start (nothing, once it is done).
    pub async fn get(&self) -> Result<Option<&UserHasher>, ErasureError> {
        if self.name.is_empty() {
            return Ok(None);
        }
        let key = self
            .key
            .get_or_try_init(|| async {
                let started = self.started.lock().ok().and_then(|mut s| s.take());
                if let Some(Ok(Ok(key))) = match started {
                    Some(read) => Some(read.await),
                    None => None,
                } {
                    return Ok(key);
                }
                // Not started, or failed: read now, in this request.
                read(self.conf.clone(), self.name.clone()).await
            })
            .await?;
        Ok(key.as_ref())
    }
}

async fn read(
    conf: aws_config::SdkConfig,
    name: String,
) -> Result<Option<UserHasher>, ErasureError> {
    let client = aws_sdk_ssm::Client::new(&conf);
    let out = client
        .get_parameter()
        .name(name)
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
