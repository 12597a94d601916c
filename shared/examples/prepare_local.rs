//! The prepare step's own cost, without S3: `prepare_local FILE [CHUNK_BYTES]` runs
//! (`--no-index`: without the keyed user index, to see its share) `steps::prepare::handle` (the request rules, the parts, the shards, the keyed user index,
//! the manifests: everything the prepare function does) on a local file, against a store that
//! streams the file in chunks as S3 would and counts what is written instead of keeping it.
//! Prints one JSON line: seconds, MB/s, peak RSS (VmHWM), the verdict and what was written.
//! The emulated S3 of `make bench` dominates the function's time there; this isolates ours.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use erasure::error::ErasureError;
use erasure::payload::{ExecutionInput, RequestObject};
use erasure::ports::{Lock, ObjectStore, Opened, Refused, VersionRef};
use erasure::request_csv::BadRowPolicy;
use erasure::split::SplitLimits;
use erasure::steps::prepare::{handle, PrepareConfig};
use erasure::user_hash::UserHasher;
use futures::StreamExt;

/// Reads the request from a local file; writes go nowhere but are counted.
struct SinkStore {
    path: String,
    chunk: usize,
    written: AtomicU64,
    objects: AtomicU64,
}

impl ObjectStore for SinkStore {
    async fn open_request(
        &self,
        _bucket: &str,
        _key: &str,
        _version_id: Option<&str>,
        etag: &str,
    ) -> Result<Opened, ErasureError> {
        use std::io::Read;
        let mut file = std::fs::File::open(&self.path)
            .map_err(|e| ErasureError::NotFound(format!("{}: {e}", self.path)))?;
        let size = file
            .metadata()
            .map_err(|e| ErasureError::Transient(e.to_string()))?
            .len();
        let chunk = self.chunk;
        let body = futures::stream::poll_fn(move |_| {
            let mut buf = vec![0u8; chunk];
            match file.read(&mut buf) {
                Ok(0) => std::task::Poll::Ready(None),
                Ok(n) => {
                    buf.truncate(n);
                    std::task::Poll::Ready(Some(Ok(buf)))
                }
                Err(e) => std::task::Poll::Ready(Some(Err(ErasureError::Transient(e.to_string())))),
            }
        });
        Ok(Opened {
            body: body.boxed(),
            size,
            etag: etag.to_string(),
        })
    }

    async fn get(&self, _bucket: &str, key: &str) -> Result<Vec<u8>, ErasureError> {
        Err(ErasureError::NotFound(key.to_string()))
    }

    async fn get_tagged(
        &self,
        _bucket: &str,
        _key: &str,
    ) -> Result<Option<(Vec<u8>, String)>, ErasureError> {
        Ok(None)
    }

    async fn put_if(
        &self,
        _bucket: &str,
        _key: &str,
        body: Vec<u8>,
        _expected: Option<&str>,
    ) -> Result<bool, ErasureError> {
        self.written.fetch_add(body.len() as u64, Ordering::Relaxed);
        self.objects.fetch_add(1, Ordering::Relaxed);
        Ok(true)
    }

    async fn put(
        &self,
        _bucket: &str,
        _key: &str,
        body: Vec<u8>,
        _content_type: &str,
        _lock: Option<Lock>,
    ) -> Result<(), ErasureError> {
        self.written.fetch_add(body.len() as u64, Ordering::Relaxed);
        self.objects.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    async fn lock(&self, _bucket: &str, _key: &str, _lock: Lock) -> Result<(), ErasureError> {
        Ok(())
    }

    async fn delete_version(
        &self,
        _bucket: &str,
        _key: &str,
        _version_id: Option<&str>,
    ) -> Result<(), ErasureError> {
        Ok(())
    }

    async fn list_versions(
        &self,
        _bucket: &str,
        _prefix: &str,
        _max: usize,
    ) -> Result<Vec<VersionRef>, ErasureError> {
        Ok(Vec::new())
    }

    async fn list_keys(
        &self,
        _bucket: &str,
        _prefix: &str,
        _max: usize,
    ) -> Result<Vec<String>, ErasureError> {
        Ok(Vec::new())
    }

    async fn delete_versions(
        &self,
        _bucket: &str,
        _versions: Vec<VersionRef>,
    ) -> Result<Vec<Refused>, ErasureError> {
        Ok(Vec::new())
    }

    async fn start_upload(
        &self,
        _bucket: &str,
        _key: &str,
        _content_type: &str,
    ) -> Result<String, ErasureError> {
        self.objects.fetch_add(1, Ordering::Relaxed);
        Ok("upload".into())
    }

    async fn upload_part(
        &self,
        _bucket: &str,
        _key: &str,
        _upload_id: &str,
        number: i32,
        body: Vec<u8>,
    ) -> Result<String, ErasureError> {
        self.written.fetch_add(body.len() as u64, Ordering::Relaxed);
        Ok(format!("etag-{number}"))
    }

    async fn complete_upload(
        &self,
        _bucket: &str,
        _key: &str,
        _upload_id: &str,
        _parts: Vec<(i32, String)>,
    ) -> Result<(), ErasureError> {
        Ok(())
    }

    async fn abort_upload(
        &self,
        _bucket: &str,
        _key: &str,
        _upload_id: &str,
    ) -> Result<(), ErasureError> {
        Ok(())
    }
}

/// The process's peak resident set, in MB (Linux; 0 elsewhere).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let no_index = args.iter().any(|a| a == "--no-index");
    args.retain(|a| a != "--no-index");
    let mut args = args.into_iter();
    let path = args
        .next()
        .ok_or("usage: prepare_local [--no-index] FILE [CHUNK_BYTES]")?;
    let chunk = match args.next() {
        Some(c) => c.parse()?,
        None => 64 * 1024,
    };
    let size = std::fs::metadata(&path)?.len();
    let store = SinkStore {
        path,
        chunk,
        written: AtomicU64::new(0),
        objects: AtomicU64::new(0),
    };
    let cfg = PrepareConfig {
        uploader_role_arns: Vec::new(),
        work_prefix: "work/".into(),
        receipt_prefix: "receipts/".into(),
        // MAX_REQUEST_BYTES and MAX_REQUEST_USERS as the function reads them (defaults when unset).
        max_request_bytes: std::env::var("MAX_REQUEST_BYTES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(erasure::limits::DEFAULT_MAX_REQUEST_BYTES),
        max_request_users: std::env::var("MAX_REQUEST_USERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(erasure::limits::DEFAULT_MAX_REQUEST_USERS),
        limits: SplitLimits {
            max_part_bytes: erasure::limits::DEFAULT_MAX_PART_BYTES,
            shard_users: erasure::limits::DEFAULT_SHARD_USERS,
        },
        policy: BadRowPolicy::RejectFile,
        regime: erasure::legal_clock::Regime::Gdpr,
        dataset_group_arns: vec![
            "arn:aws:personalize:us-east-1:123456789012:dataset-group/local".into(),
        ],
        shard_concurrency: erasure::limits::DEFAULT_SHARD_CONCURRENCY,
    };
    let hasher = UserHasher::new(b"a local benchmark key, not a secret")?;
    let input = ExecutionInput {
        request: RequestObject {
            mode: Default::default(),
            uploader: None,
            bucket: "local".into(),
            key: "requests/local.csv".into(),
            version_id: None,
            etag: "local".into(),
            size,
            request_id: "0123456789abcdef0123456789abcdef"
                .parse()
                .map_err(|e| format!("{e:?}"))?,
            sha256: None,
        },
        execution: None,
    };
    let started = Instant::now();
    let prepared = handle(&cfg, &store, (!no_index).then_some(&hasher), input).await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "bytes": size,
            "seconds": seconds,
            "mb_s": size as f64 / 1e6 / seconds,
            "peak_rss_mb": peak_rss_mb(),
            "verdict": prepared.verdict,
            "user_index": !no_index,
            "valid_users": prepared.stats.valid_users,
            "objects_written": store.objects.load(Ordering::Relaxed),
            "bytes_written": store.written.load(Ordering::Relaxed),
        })
    );
    Ok(())
}
