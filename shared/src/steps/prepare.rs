//! Preparing a request: stream the CSV, validate and normalise it, write the parts Personalize
//! reads and the shards the Pinpoint map erases, all under the workflow's own work prefix.

use crate::aws::s3;
use crate::config;
use crate::error::{ConfigError, ErasureError};
use crate::naming::RequestId;
use crate::payload::EvidenceFile;
use crate::payload::{ExecutionInput, JobSpec, Prepared, S3Ref, ShardSpec, Verdict};
use crate::request_csv::{BadRowPolicy, FileProblem, RequestReader, RequestStats};
use crate::split::{Finished, SplitLimits, Splitter, PART_CHUNK_BYTES};
use crate::user_hash::UserHasher;
use futures::StreamExt;
use sha2::{Digest, Sha256};

/// Settings of preparation.
#[derive(Debug, Clone)]
pub struct PrepareConfig {
    /// Where work objects go (never under the request prefix).
    pub work_prefix: String,
    /// Where receipts and their evidence files go.
    pub receipt_prefix: String,
    /// Largest request file accepted, bytes.
    pub max_request_bytes: u64,
    /// Part and shard sizes.
    pub limits: SplitLimits,
    /// What a bad row does.
    pub policy: BadRowPolicy,
    /// The dataset groups to erase from.
    pub dataset_group_arns: Vec<String>,
    /// Shards erased at once (the Pinpoint map's MaxConcurrency; the erase function divides the
    /// account's rate by the same number).
    pub shard_concurrency: u32,
}

impl PrepareConfig {
    /// Reads WORK_PREFIX, RECEIPT_PREFIX, MAX_REQUEST_BYTES, MAX_PART_BYTES, SHARD_USERS,
    /// BAD_ROW_POLICY, DATASET_GROUP_ARNS and PINPOINT_SHARD_CONCURRENCY.
    pub fn from_env() -> Result<Self, ConfigError> {
        let policy = config::or_default("BAD_ROW_POLICY", "reject-file");
        Ok(PrepareConfig {
            work_prefix: config::prefix("WORK_PREFIX", "work/")?,
            receipt_prefix: config::prefix("RECEIPT_PREFIX", "receipts/")?,
            max_request_bytes: config::number("MAX_REQUEST_BYTES", 1_073_741_824)?,
            limits: SplitLimits {
                max_part_bytes: config::number("MAX_PART_BYTES", 50_000_000)?,
                shard_users: config::number("SHARD_USERS", 1000)?.max(1),
            },
            policy: policy.parse().map_err(|problem| ConfigError {
                name: "BAD_ROW_POLICY",
                problem,
            })?,
            dataset_group_arns: config::list("DATASET_GROUP_ARNS")?,
            shard_concurrency: config::number("PINPOINT_SHARD_CONCURRENCY", 4u32)?.max(1),
        })
    }
}

/// Prepares the request named in the execution input.
pub async fn handle(
    cfg: &PrepareConfig,
    client: &aws_sdk_s3::Client,
    hasher: Option<&UserHasher>,
    input: ExecutionInput,
) -> Result<Prepared, ErasureError> {
    let mut request = input.request;
    let id = RequestId::parse(&request.request_id).ok_or_else(|| {
        ErasureError::Invalid("the execution input has a malformed request ID".into())
    })?;
    if request.size > cfg.max_request_bytes {
        let problem = too_large(request.size, cfg);
        return Ok(rejected(request, RequestStats::default(), problem));
    }
    let (mut body, size, etag) = s3::open_request(
        client,
        &request.bucket,
        &request.key,
        request.version_id.as_deref(),
        &request.etag,
    )
    .await?;
    request.etag = etag;
    request.size = size;
    if size > cfg.max_request_bytes {
        return Ok(rejected(
            request,
            RequestStats::default(),
            too_large(size, cfg),
        ));
    }

    let bucket = request.bucket.clone();
    let mut reader = RequestReader::new(cfg.policy);
    let mut splitter = Splitter::new(cfg.limits);
    let mut out = Outputs::default();
    let mut index =
        hasher.map(|h| UserIndex::new(h, &bucket, id.user_index_key(&cfg.receipt_prefix)));
    let mut digest = Sha256::new();
    let mut read = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk
            .map_err(|_| ErasureError::Transient("the request body could not be read".into()))?;
        read += chunk.len() as u64;
        if read > cfg.max_request_bytes {
            if let Some(ix) = index.as_mut() {
                ix.writer.abort(client).await;
            }
            s3::purge_prefix(client, &bucket, &id.work_folder(&cfg.work_prefix)).await?;
            return Ok(rejected(
                request,
                RequestStats::default(),
                too_large(read, cfg),
            ));
        }
        digest.update(&chunk);
        reader.push(&chunk, &mut |uid| {
            splitter.add(uid);
            if let Some(ix) = index.as_mut() {
                ix.add(uid);
            }
        });
        if reader.problem().is_some() {
            break;
        }
        out.upload(client, &bucket, &id, cfg, splitter.take_ready())
            .await?;
        if let Some(ix) = index.as_mut() {
            ix.flush(client, false).await?;
        }
    }
    let (stats, verdict) = reader.finish(&mut |uid| {
        splitter.add(uid);
        if let Some(ix) = index.as_mut() {
            ix.add(uid);
        }
    });
    request.sha256 = Some(hex::encode(digest.finalize()));
    if let Err(problem) = verdict {
        // Nothing is erased for a rejected file, so nothing it produced may stay behind.
        if let Some(ix) = index.as_mut() {
            ix.writer.abort(client).await;
        }
        let removed = s3::purge_prefix(client, &bucket, &id.work_folder(&cfg.work_prefix)).await?;
        tracing::info!(request_id = %id, code = problem.code(), removed, "request rejected");
        crate::metrics::emit(&[(crate::metrics::names::REQUESTS_REJECTED, 1)]);
        return Ok(rejected(request, stats, problem));
    }
    out.upload(client, &bucket, &id, cfg, splitter.finish())
        .await?;
    let user_index = match index {
        Some(ix) => Some(ix.finish(client).await?),
        None => None,
    };

    let execution = input.execution.as_ref().map(|e| e.name.clone());
    for shard in &mut out.shards {
        shard.execution.clone_from(&execution);
    }
    let manifest_key = id.manifest_key(&cfg.work_prefix);
    let manifest =
        serde_json::to_vec(&out.shards).map_err(|e| ErasureError::Invalid(e.to_string()))?;
    s3::put(client, &bucket, &manifest_key, manifest, "application/json").await?;

    let mut personalize_jobs = Vec::with_capacity(cfg.dataset_group_arns.len() * out.parts.len());
    for dsg in &cfg.dataset_group_arns {
        for (part, users) in &out.parts {
            personalize_jobs.push(JobSpec {
                request_id: id.to_string(),
                dataset_group_arn: dsg.clone(),
                part: *part,
                data_location: format!("s3://{bucket}/{}", id.part_key(&cfg.work_prefix, *part)),
                users: *users,
            });
        }
    }
    tracing::info!(
        request_id = %id,
        rows = stats.rows,
        valid_users = stats.valid_users,
        duplicates = stats.duplicates,
        rejected_rows = stats.rejected_rows,
        parts = out.parts.len(),
        shards = out.shards.len(),
        "request prepared"
    );
    let shard_count = out.shards.len();
    let prepared = Prepared {
        verdict: Verdict::Accepted,
        reason_code: None,
        reason: None,
        stats,
        personalize_jobs,
        pinpoint_shards: out.shards,
        manifest: Some(S3Ref {
            bucket: bucket.clone(),
            key: manifest_key,
        }),
        shard_users: cfg.limits.shard_users,
        shard_count: shard_count as u64,
        shard_concurrency: cfg.shard_concurrency,
        user_index,
        request,
    };
    // Kept for an execution an operator stops: its receipt still says what was done.
    let copy = serde_json::to_vec(&prepared).map_err(|e| ErasureError::Invalid(e.to_string()))?;
    s3::put(
        client,
        &bucket,
        &id.prepared_key(&cfg.work_prefix),
        copy,
        "application/json",
    )
    .await?;
    // The shard list stays in S3 (the map reads it from the manifest): a request of millions of
    // users has thousands of shards, more than a state payload may hold (256 KiB).
    Ok(Prepared {
        pinpoint_shards: Vec::new(),
        ..prepared
    })
}

/// The keyed hashes of the valid users, one per line in normalised order, written as they come.
struct UserIndex<'h> {
    hasher: &'h UserHasher,
    writer: s3::PieceWriter,
    bucket: String,
    key: String,
    buf: Vec<u8>,
    rows: u64,
    digest: Sha256,
}

impl<'h> UserIndex<'h> {
    fn new(hasher: &'h UserHasher, bucket: &str, key: String) -> Self {
        UserIndex {
            hasher,
            writer: s3::PieceWriter::new(bucket, &key, "text/plain"),
            bucket: bucket.to_string(),
            key,
            buf: Vec::with_capacity(PART_CHUNK_BYTES + 64 * 1024),
            rows: 0,
            digest: Sha256::new(),
        }
    }

    fn add(&mut self, uid: &str) {
        self.buf.extend_from_slice(self.hasher.hash(uid).as_bytes());
        self.buf.push(b'\n');
        self.rows += 1;
    }

    async fn flush(&mut self, client: &aws_sdk_s3::Client, last: bool) -> Result<(), ErasureError> {
        if self.buf.len() >= PART_CHUNK_BYTES || (last && !self.buf.is_empty()) {
            let piece = std::mem::replace(
                &mut self.buf,
                Vec::with_capacity(PART_CHUNK_BYTES + 64 * 1024),
            );
            self.digest.update(&piece);
            self.writer.push(client, piece).await?;
        }
        Ok(())
    }

    async fn finish(mut self, client: &aws_sdk_s3::Client) -> Result<EvidenceFile, ErasureError> {
        self.flush(client, true).await?;
        self.writer.finish(client).await?;
        Ok(EvidenceFile {
            bucket: self.bucket,
            key: self.key,
            rows: self.rows,
            sha256: hex::encode(self.digest.finalize()),
        })
    }
}

fn too_large(size: u64, cfg: &PrepareConfig) -> FileProblem {
    FileProblem::TooLarge {
        size,
        limit: cfg.max_request_bytes,
    }
}

fn rejected(
    request: crate::payload::RequestObject,
    stats: RequestStats,
    problem: FileProblem,
) -> Prepared {
    Prepared {
        verdict: Verdict::Rejected,
        reason_code: Some(problem.code().to_string()),
        reason: Some(problem.to_string()),
        stats,
        request,
        personalize_jobs: vec![],
        pinpoint_shards: vec![],
        manifest: None,
        shard_users: 0,
        shard_count: 0,
        shard_concurrency: 4,
        user_index: None,
    }
}

/// Shard objects written at once.
const SHARD_UPLOADS: usize = 16;

#[derive(Default)]
struct Outputs {
    parts: Vec<(u32, u64)>,
    shards: Vec<ShardSpec>,
    /// The part being written, piece by piece.
    writing: Option<s3::PieceWriter>,
}

impl Outputs {
    async fn upload(
        &mut self,
        client: &aws_sdk_s3::Client,
        bucket: &str,
        id: &RequestId,
        cfg: &PrepareConfig,
        ready: Vec<Finished>,
    ) -> Result<(), ErasureError> {
        let mut shards = Vec::new();
        for f in ready {
            match f {
                Finished::PartChunk { index, body } => {
                    let writer = self.writing.get_or_insert_with(|| {
                        s3::PieceWriter::new(
                            bucket,
                            &id.part_key(&cfg.work_prefix, index),
                            "text/csv",
                        )
                    });
                    writer.push(client, body).await?;
                }
                Finished::PartEnd { index, users, .. } => {
                    if let Some(writer) = self.writing.take() {
                        writer.finish(client).await?;
                    }
                    self.parts.push((index, users));
                }
                Finished::Shard { index, body, users } => shards.push((index, body, users)),
            }
        }
        // Shards are small and many (3,000 for 3 million users): written SHARD_UPLOADS at a
        // time, not one after another. A chunk of the request yields a few hundred at most, so
        // what is held here stays bounded by the chunk, not the request.
        let written: Vec<Result<ShardSpec, ErasureError>> = futures::stream::iter(shards)
            .map(|(index, body, users)| async move {
                let key = id.shard_key(&cfg.work_prefix, index);
                s3::put(client, bucket, &key, body, "text/csv").await?;
                Ok(ShardSpec {
                    request_id: id.to_string(),
                    bucket: bucket.to_string(),
                    key,
                    index,
                    users,
                    execution: None,
                })
            })
            .buffered(SHARD_UPLOADS)
            .collect()
            .await;
        for spec in written {
            self.shards.push(spec?);
        }
        Ok(())
    }
}
