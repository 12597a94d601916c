//! Preparing a request: stream the CSV, validate and normalise it, write the parts Personalize
//! reads and the shards the Pinpoint map erases, all under the workflow's own work prefix.

mod outputs;
mod uploader;

use outputs::{write_manifest, Outputs, UserIndex};
pub use uploader::{ordered_by, UPLOADER_NOT_ALLOWED};

use crate::config;
use crate::error::{ConfigError, ErasureError};
use crate::limits;
use crate::payload::ShardPlan;
use crate::payload::{ExecutionInput, JobSpec, Prepared, Verdict};
use crate::ports::{ObjectStore, Roles};
use crate::purge::purge_prefix;
use crate::request_csv::{BadRowPolicy, FileProblem, RequestReader, RequestStats};
use crate::s3_event::is_csv;
use crate::split::{SplitLimits, Splitter};
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
    /// The roles that may order an erasure (`RequestUploaderPrincipalArns`); empty: anyone the
    /// bucket lets upload.
    pub uploader_role_arns: Vec<String>,
    /// The legal deadline's regime (`LEGAL_DEADLINE`), for the open-request record.
    pub regime: crate::legal_clock::Regime,
}

impl PrepareConfig {
    /// Reads WORK_PREFIX, RECEIPT_PREFIX, MAX_REQUEST_BYTES, MAX_REQUEST_USERS, MAX_PART_BYTES,
    /// SHARD_USERS, BAD_ROW_POLICY, DATASET_GROUP_ARNS, PINPOINT_SHARD_CONCURRENCY and
    /// UPLOADER_ROLE_ARNS (may be empty) and LEGAL_DEADLINE.
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
            uploader_role_arns: config::optional_list("UPLOADER_ROLE_ARNS"),
            regime: crate::legal_clock::Regime::from_env()?,
        })
    }
}

/// Prepares the request named in the execution input.
pub async fn handle(
    cfg: &PrepareConfig,
    store: &impl ObjectStore,
    hasher: Option<&UserHasher>,
    input: ExecutionInput,
) -> Result<Prepared, ErasureError> {
    handle_with_key(cfg, store, &NoRoles, async { Ok(hasher) }, input).await
}

/// No IAM to read: with named uploader roles, every request is refused.
struct NoRoles;

impl Roles for NoRoles {
    async fn role_id(&self, _: &str) -> Result<Option<String>, ErasureError> {
        Ok(None)
    }
}

/// As [`handle`], with the user-hash key still being read: it is awaited only once the request
/// object is open, so that its read (begun at the function's start) overlaps that first round
/// trip instead of lengthening init or the request.
pub async fn handle_with_key<'h>(
    cfg: &PrepareConfig,
    store: &impl ObjectStore,
    roles: &impl Roles,
    hasher: impl std::future::Future<Output = Result<Option<&'h UserHasher>, ErasureError>>,
    input: ExecutionInput,
) -> Result<Prepared, ErasureError> {
    let mut request = input.request;
    let id = request.request_id.clone();
    // Who ordered it, before a byte is read: with named uploader roles, anyone else's file is
    // refused here too (the bucket policy already denies their upload; this holds when the
    // policy was changed by hand, or the file was written some other way).
    let ordered_by = ordered_by(&cfg.uploader_role_arns, roles, &request).await?;
    if let Some(by) = ordered_by.as_ref().filter(|b| b.allowed == Some(false)) {
        tracing::warn!(request_id = %id, uploader = %by.unique_id, "request refused: not uploaded by a named role");
        return Ok(Prepared {
            verdict: Verdict::Rejected,
            reason_code: Some(UPLOADER_NOT_ALLOWED.into()),
            reason: Some(uploader::refusal(by)),
            stats: RequestStats::default(),
            request,
            jobs: None,
            shards: None,
            user_index: None,
            ordered_by,
            received_at: None,
        });
    }
    // Every object under the request prefix starts an execution; one that is not a CSV file is
    // rejected here, before a byte of it is read, and its receipt says why.
    if !is_csv(&request.key) {
        return Ok(rejected(
            request,
            RequestStats::default(),
            FileProblem::NotCsv,
            &ordered_by,
        ));
    }
    if request.size > cfg.max_request_bytes {
        let problem = too_large(request.size, cfg);
        return Ok(rejected(
            request,
            RequestStats::default(),
            problem,
            &ordered_by,
        ));
    }
    let opened = store
        .open_request(
            &request.bucket,
            &request.key,
            request.version_id.as_deref(),
            &request.etag,
        )
        .await?;
    let (mut body, size, etag) = (opened.body, opened.size, opened.etag);
    request.etag = etag;
    request.size = size;
    if size > cfg.max_request_bytes {
        return Ok(rejected(
            request,
            RequestStats::default(),
            too_large(size, cfg),
            &ordered_by,
        ));
    }

    let hasher = hasher.await?;
    let bucket = request.bucket.clone();
    let mut reader = RequestReader::with_max_users(cfg.policy, cfg.max_request_users);
    reader.expect_bytes(size);
    let mut splitter = Splitter::new(cfg.limits);
    let mut out = Outputs::default();
    let mut index =
        hasher.map(|h| UserIndex::new(h, &bucket, id.user_index_key(&cfg.receipt_prefix)));
    let mut digest = Sha256::new();
    let mut read = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        read += chunk.len() as u64;
        if read > cfg.max_request_bytes {
            if let Some(ix) = index.as_mut() {
                ix.writer.abort(store).await;
            }
            // The finalize step purges again (REJECTED) if this one could not finish.
            purge_prefix(store, &bucket, &id.work_folder(&cfg.work_prefix), None).await?;
            return Ok(rejected(
                request,
                RequestStats::default(),
                too_large(read, cfg),
                &ordered_by,
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
        out.upload(store, &bucket, &id, cfg, splitter.take_ready())
            .await?;
        if let Some(ix) = index.as_mut() {
            ix.flush(store, false).await?;
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
            ix.writer.abort(store).await;
        }
        let removed = purge_prefix(store, &bucket, &id.work_folder(&cfg.work_prefix), None)
            .await?
            .deleted;
        tracing::info!(request_id = %id, code = problem.code(), removed, "request rejected");
        crate::metrics::emit(&[(crate::metrics::names::REQUESTS_REJECTED, 1)]);
        return Ok(rejected(request, stats, problem, &ordered_by));
    }
    out.upload(store, &bucket, &id, cfg, splitter.finish())
        .await?;
    let user_index = match index {
        Some(ix) => Some(ix.finish(store).await?),
        None => None,
    };

    let execution = input.execution.as_ref().map(|e| e.name.clone());
    for shard in &mut out.shards {
        shard.execution.clone_from(&execution);
        shard.mode = request.mode;
    }
    let mut jobs = Vec::with_capacity(cfg.dataset_group_arns.len() * out.parts.len());
    for dsg in &cfg.dataset_group_arns {
        for (part, users) in &out.parts {
            jobs.push(JobSpec {
                request_id: id.clone(),
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
        store,
        &bucket,
        id.job_manifest_key(&cfg.work_prefix),
        &jobs,
        id.results_prefix(&cfg.work_prefix, "jobs"),
    )
    .await?;
    let shards_plan = write_manifest(
        store,
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
    let received_at = first_received(cfg, store, &request).await;
    // On the legal clock until a receipt says COMPLETED (the deadline alarm's record), from
    // the time the receipt will give: the first upload, else the execution's start.
    let clock_start = received_at.clone().or_else(|| {
        input
            .execution
            .as_ref()
            .map(|e| e.start_time.clone())
            .filter(|t| !t.is_empty())
    });
    if let (crate::payload::Mode::Erase, Some(sha), Some(at)) = (
        request.mode,
        request.sha256.as_deref(),
        clock_start.as_deref(),
    ) {
        let record = crate::open_requests::OpenRequest {
            request_sha256: sha.to_string(),
            received_at: at.to_string(),
            request_id: id.clone(),
            last_outcome: None,
            last_receipt: None,
            respond_by: crate::legal_clock::date_of(at)
                .and_then(|d| crate::legal_clock::respond_by(cfg.regime, d)),
        };
        crate::open_requests::open(store, &bucket, &cfg.receipt_prefix, &record).await?;
    }
    let prepared = Prepared {
        received_at,
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
        ordered_by,
        request,
    };
    // Kept for an execution that ends without reaching the finalize step: its receipt still
    // says what was done (the event that reports it carries only the execution input).
    let copy = serde_json::to_vec(&prepared).map_err(|e| ErasureError::Invalid(e.to_string()))?;
    store
        .put(
            &bucket,
            &id.prepared_key(&cfg.work_prefix),
            copy,
            "application/json",
            None,
        )
        .await?;
    Ok(prepared)
}

/// When a request of these bytes was first received: the upload time of this one, unless an
/// earlier upload of the same bytes was recorded (then that one's; a plan does not count). Best
/// effort: when the record cannot be read or written, this upload's time.
async fn first_received(
    cfg: &PrepareConfig,
    store: &impl ObjectStore,
    request: &crate::payload::RequestObject,
) -> Option<String> {
    let now = request
        .uploader
        .as_ref()
        .and_then(|u| u.uploaded_at.clone());
    let (Some(at), Some(sha)) = (now.clone(), request.sha256.as_deref()) else {
        return now;
    };
    if request.mode == crate::payload::Mode::Plan {
        return now;
    }
    let key = crate::naming::RequestId::received_key(&cfg.receipt_prefix, sha);
    let record = serde_json::json!({ "receivedAt": at, "requestId": request.request_id });
    match store
        .put_if(&request.bucket, &key, record.to_string().into_bytes(), None)
        .await
    {
        Ok(true) => now,
        Ok(false) => match store.get(&request.bucket, &key).await {
            Ok(body) => serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["receivedAt"].as_str().map(str::to_string))
                .filter(|first| first.as_str() < at.as_str())
                .or(now),
            Err(e) => {
                tracing::warn!(error = %e, "the first-received record could not be read");
                now
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "the first-received record could not be written");
            now
        }
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
    ordered_by: &Option<crate::payload::OrderedBy>,
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
        ordered_by: ordered_by.clone(),
        received_at: None,
    }
}

#[cfg(test)]
mod tests;
