//! What preparation writes as it reads: the parts, the shards, the user index, the manifests.

use futures::StreamExt;
use sha2::{Digest, Sha256};

use super::PrepareConfig;
use crate::error::ErasureError;
use crate::naming::RequestId;
use crate::payload::{EvidenceFile, MapPlan, ResultsLocation, S3Ref, ShardSpec};
use crate::pieces::PieceWriter;
use crate::ports::ObjectStore;
use crate::split::{Finished, PART_CHUNK_BYTES};
use crate::user_hash::UserHasher;

/// Writes the items of one map as a JSON array: the plan its ItemReader and ResultWriter follow.
pub(super) async fn write_manifest<T: serde::Serialize>(
    store: &impl ObjectStore,
    bucket: &str,
    key: String,
    items: &[T],
    results_prefix: String,
) -> Result<MapPlan, ErasureError> {
    let body = serde_json::to_vec(items).map_err(|e| ErasureError::Invalid(e.to_string()))?;
    store
        .put(bucket, &key, body, "application/json", None)
        .await?;
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
pub(super) struct UserIndex<'h> {
    hasher: &'h UserHasher,
    pub(super) writer: PieceWriter,
    bucket: String,
    key: String,
    buf: Vec<u8>,
    rows: u64,
    digest: Sha256,
}

impl<'h> UserIndex<'h> {
    pub(super) fn new(hasher: &'h UserHasher, bucket: &str, key: String) -> Self {
        UserIndex {
            hasher,
            writer: PieceWriter::new(bucket, &key, "text/plain"),
            bucket: bucket.to_string(),
            key,
            buf: Vec::with_capacity(PART_CHUNK_BYTES + 64 * 1024),
            rows: 0,
            digest: Sha256::new(),
        }
    }

    pub(super) fn add(&mut self, uid: &str) {
        self.hasher.hash_into(uid, &mut self.buf);
        self.buf.push(b'\n');
        self.rows += 1;
    }

    pub(super) async fn flush(
        &mut self,
        store: &impl ObjectStore,
        last: bool,
    ) -> Result<(), ErasureError> {
        if self.buf.len() >= PART_CHUNK_BYTES || (last && !self.buf.is_empty()) {
            let piece = std::mem::replace(
                &mut self.buf,
                Vec::with_capacity(PART_CHUNK_BYTES + 64 * 1024),
            );
            self.digest.update(&piece);
            self.writer.push(store, piece).await?;
        }
        Ok(())
    }

    pub(super) async fn finish(
        mut self,
        store: &impl ObjectStore,
    ) -> Result<EvidenceFile, ErasureError> {
        self.flush(store, true).await?;
        self.writer.finish(store).await?;
        Ok(EvidenceFile {
            bucket: self.bucket,
            key: self.key,
            rows: self.rows,
            sha256: hex::encode(self.digest.finalize()),
        })
    }
}

/// Shard objects written at once.
pub(super) const SHARD_UPLOADS: usize = 16;

#[derive(Default)]
pub(super) struct Outputs {
    pub(super) parts: Vec<(u32, u64)>,
    pub(super) shards: Vec<ShardSpec>,
    /// The part being written, piece by piece.
    writing: Option<PieceWriter>,
}

impl Outputs {
    pub(super) async fn upload(
        &mut self,
        store: &impl ObjectStore,
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
                        PieceWriter::new(bucket, &id.part_key(&cfg.work_prefix, index), "text/csv")
                    });
                    writer.push(store, body).await?;
                }
                Finished::PartEnd { index, users, .. } => {
                    if let Some(writer) = self.writing.take() {
                        writer.finish(store).await?;
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
                store.put(bucket, &key, body, "text/csv", None).await?;
                Ok(ShardSpec {
                    request_id: id.clone(),
                    bucket: bucket.to_string(),
                    key,
                    index,
                    users,
                    execution: None,
                    mode: Default::default(),
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
