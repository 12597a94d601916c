//! Preparing a request: stream the CSV, validate and normalise it, write the parts Personalize
//! reads and the shards the Pinpoint map erases, all under the workflow's own work prefix.

use crate::aws::s3;
use crate::config;
use crate::error::{ConfigError, ErasureError};
use crate::limits;
use crate::naming::RequestId;
use crate::payload::{EvidenceFile, MapPlan, ResultsLocation, ShardPlan};
use crate::payload::{ExecutionInput, JobSpec, Prepared, S3Ref, ShardSpec, Verdict};
use crate::request_csv::{BadRowPolicy, FileProblem, RequestReader, RequestStats};
use crate::s3_event::is_csv;
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
    /// Most distinct users a request may list (what the duplicate detection's memory holds).
    pub max_request_users: u64,
    /// Part and shard sizes (shards raised so that a request has at most `limits::MAX_SHARDS`).
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
    /// Reads WORK_PREFIX, RECEIPT_PREFIX, MAX_REQUEST_BYTES, MAX_REQUEST_USERS, MAX_PART_BYTES,
    /// SHARD_USERS, BAD_ROW_POLICY, DATASET_GROUP_ARNS and PINPOINT_SHARD_CONCURRENCY.
    pub fn from_env() -> Result<Self, ConfigError> {
        let policy = config::or_default("BAD_ROW_POLICY", "reject-file");
        let max_request_users =
            config::number("MAX_REQUEST_USERS", limits::DEFAULT_MAX_REQUEST_USERS)?.max(1);
        let shard_users = config::number("SHARD_USERS", limits::DEFAULT_SHARD_USERS)?;
        Ok(PrepareConfig {
            work_prefix: config::prefix("WORK_PREFIX", "work/")?,
            receipt_prefix: config::prefix("RECEIPT_PREFIX", "receipts/")?,
            max_request_bytes: config::number(
                "MAX_REQUEST_BYTES",
                limits::DEFAULT_MAX_REQUEST_BYTES,
            )?,
            max_request_users,
            limits: SplitLimits {
                max_part_bytes: config::number("MAX_PART_BYTES", limits::DEFAULT_MAX_PART_BYTES)?,
                shard_users: limits::shard_users(shard_users, max_request_users),
            },
            policy: policy.parse().map_err(|problem| ConfigError {
                name: "BAD_ROW_POLICY",
                problem,
            })?,
            dataset_group_arns: config::list("DATASET_GROUP_ARNS")?,
            shard_concurrency: config::number(
                "PINPOINT_SHARD_CONCURRENCY",
                limits::DEFAULT_SHARD_CONCURRENCY,
            )?
            .max(1),
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
    // Every object under the request prefix starts an execution; one that is not a CSV file is
    // rejected here, before a byte of it is read, and its receipt says why.
    if !is_csv(&request.key) {
        return Ok(rejected(
            request,
            RequestStats::default(),
            FileProblem::NotCsv,
        ));
    }
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
    let mut reader = RequestReader::with_max_users(cfg.policy, cfg.max_request_users);
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
            // The finalize step purges again (REJECTED) if this one could not finish.
            s3::purge_prefix(client, &bucket, &id.work_folder(&cfg.work_prefix), None).await?;
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
        let removed = s3::purge_prefix(client, &bucket, &id.work_folder(&cfg.work_prefix), None)
            .await?
            .deleted;
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
    let mut jobs = Vec::with_capacity(cfg.dataset_group_arns.len() * out.parts.len());
    for dsg in &cfg.dataset_group_arns {
        for (part, users) in &out.parts {
            jobs.push(JobSpec {
                request_id: id.to_string(),
                dataset_group_arn: dsg.clone(),
                part: *part,
                data_location: format!("s3://{bucket}/{}", id.part_key(&cfg.work_prefix, *part)),
                users: *users,
            });
        }
    }
    // The two lists the maps iterate stay in S3 (their ItemReaders read them): a request of
    // millions of users has thousands of shards, more than a state payload may hold (256 KiB).
    let jobs_plan = write_manifest(
        client,
        &bucket,
        id.job_manifest_key(&cfg.work_prefix),
        &jobs,
        id.results_prefix(&cfg.work_prefix, "jobs"),
    )
    .await?;
    let shards_plan = write_manifest(
        client,
        &bucket,
        id.manifest_key(&cfg.work_prefix),
        &out.shards,
        id.results_prefix(&cfg.work_prefix, "shards"),
    )
    .await?;
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
    let prepared = Prepared {
        verdict: Verdict::Accepted,
        reason_code: None,
        reason: None,
        stats,
        jobs: Some(jobs_plan),
        shards: Some(ShardPlan {
            map: shards_plan,
            concurrency: cfg.shard_concurrency,
            users_per_shard: cfg.limits.shard_users,
        }),
        user_index,
        request,
    };
    // Kept for an execution that ends without reaching the finalize step: its receipt still
    // says what was done (the event that reports it carries only the execution input).
    let copy = serde_json::to_vec(&prepared).map_err(|e| ErasureError::Invalid(e.to_string()))?;
    s3::put(
        client,
        &bucket,
        &id.prepared_key(&cfg.work_prefix),
        copy,
        "application/json",
    )
    .await?;
    Ok(prepared)
}

/// Writes the items of one map as a JSON array: the plan its ItemReader and ResultWriter follow.
async fn write_manifest<T: serde::Serialize>(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: String,
    items: &[T],
    results_prefix: String,
) -> Result<MapPlan, ErasureError> {
    let body = serde_json::to_vec(items).map_err(|e| ErasureError::Invalid(e.to_string()))?;
    s3::put(client, bucket, &key, body, "application/json").await?;
    Ok(MapPlan {
        manifest: S3Ref {
            bucket: bucket.to_string(),
            key,
        },
        results: ResultsLocation {
            bucket: bucket.to_string(),
            prefix: results_prefix,
        },
        count: items.len() as u64,
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
        jobs: None,
        shards: None,
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
