//! Where a receipt is read from: a local file, or S3 with the usual AWS credential chain (as
//! `erasure retry` reads one; `S3_FORCE_PATH_STYLE=true` for an S3 emulation).

use aws_sdk_s3::error::ProvideErrorMetadata;
use erasure::receipt::Receipt;

/// The receipt's bytes, from `s3://BUCKET/KEY` or a file.
pub fn read(location: &str) -> Result<Vec<u8>, String> {
    if !location.starts_with("s3://") {
        return std::fs::read(location).map_err(|e| format!("{location}: {e}"));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        read_with(&conf, location).await
    })
}

/// As [`read`], inside a runtime and with the caller's AWS configuration (`erasure retry`).
pub async fn read_with(conf: &aws_config::SdkConfig, location: &str) -> Result<Vec<u8>, String> {
    let Some(path) = location.strip_prefix("s3://") else {
        return std::fs::read(location).map_err(|e| format!("{location}: {e}"));
    };
    let (bucket, key) = path
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
        .ok_or_else(|| format!("{location}: expected s3://BUCKET/KEY"))?;
    let path_style = std::env::var("S3_FORCE_PATH_STYLE").is_ok_and(|v| v == "true");
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(path_style)
            .build(),
    );
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            format!(
                "{location}: {}",
                e.message().or(e.code()).unwrap_or("could not be read")
            )
        })?;
    let data = out
        .body
        .collect()
        .await
        .map_err(|e| format!("{location}: {e}"))?;
    Ok(data.into_bytes().to_vec())
}

/// Where the receipt lives in S3, for the retry command: the location given when it is an
/// `s3://` one, else where the workflow writes it (`s3://<request bucket>/receipts/<execution
/// name>.json`).
pub fn receipt_uri(given: &str, receipt: &Receipt) -> String {
    if given.starts_with("s3://") {
        return given.to_string();
    }
    format!(
        "s3://{}/receipts/{}.json",
        receipt.request.bucket, receipt.execution_name
    )
}
