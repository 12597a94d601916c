//! Writing one object from pieces handed over in order, holding back only the first piece: a
//! single PutObject when it is one piece, else a multipart upload (every piece but the last at least
//! 5 MiB, S3's smallest part). An upload that fails is aborted; S3's lifecycle rule clears any
//! upload left over.

use crate::error::ErasureError;
use crate::ports::ObjectStore;

/// One object being written piece by piece.
pub struct PieceWriter {
    bucket: String,
    key: String,
    content_type: &'static str,
    upload_id: Option<String>,
    done: Vec<(i32, String)>,
    held: Option<Vec<u8>>,
}

impl PieceWriter {
    /// A writer for `key`; nothing is sent until the second piece or [`PieceWriter::finish`].
    pub fn new(bucket: &str, key: &str, content_type: &'static str) -> Self {
        PieceWriter {
            bucket: bucket.to_string(),
            key: key.to_string(),
            content_type,
            upload_id: None,
            done: Vec::new(),
            held: None,
        }
    }

    /// Adds the next piece. Only the first piece is held back (it may be the whole object, then
    /// one PutObject); from the second on, each piece is sent as it comes, so that no more than
    /// the piece in flight is held.
    pub async fn push<S: ObjectStore>(
        &mut self,
        store: &S,
        piece: Vec<u8>,
    ) -> Result<(), ErasureError> {
        let sent = match self.held.take() {
            None if self.upload_id.is_none() => {
                self.held = Some(piece);
                return Ok(());
            }
            None => self.send_piece(store, piece).await,
            Some(first) => match self.send_piece(store, first).await {
                Ok(()) => self.send_piece(store, piece).await,
                Err(e) => Err(e),
            },
        };
        if let Err(e) = sent {
            self.abort(store).await;
            return Err(e);
        }
        Ok(())
    }

    /// Sends what is held and completes the object.
    pub async fn finish<S: ObjectStore>(mut self, store: &S) -> Result<(), ErasureError> {
        let held = self.held.take();
        let Some(upload_id) = self.upload_id.clone() else {
            return store
                .put(
                    &self.bucket,
                    &self.key,
                    held.unwrap_or_default(),
                    self.content_type,
                    None,
                )
                .await;
        };
        let result = async {
            if let Some(last) = held {
                self.send_piece(store, last).await?;
            }
            let parts = std::mem::take(&mut self.done);
            store
                .complete_upload(&self.bucket, &self.key, &upload_id, parts)
                .await
        }
        .await;
        if result.is_err() {
            self.abort(store).await;
        }
        result
    }

    async fn send_piece<S: ObjectStore>(
        &mut self,
        store: &S,
        body: Vec<u8>,
    ) -> Result<(), ErasureError> {
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let id = store
                    .start_upload(&self.bucket, &self.key, self.content_type)
                    .await?;
                self.upload_id = Some(id.clone());
                id
            }
        };
        let number = self.done.len() as i32 + 1;
        let etag = store
            .upload_part(&self.bucket, &self.key, &upload_id, number, body)
            .await?;
        self.done.push((number, etag));
        Ok(())
    }

    /// Gives the object up: nothing of it stays (a multipart upload is aborted).
    pub async fn abort<S: ObjectStore>(&mut self, store: &S) {
        self.held = None;
        if let Some(id) = self.upload_id.take() {
            // Best effort: the bucket's lifecycle rule aborts what this cannot.
            let _ = store.abort_upload(&self.bucket, &self.key, &id).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;

    #[tokio::test]
    async fn one_piece_is_one_put_and_several_are_one_multipart_object_in_order() {
        let store = MemoryStore::default();
        let mut one = PieceWriter::new("b", "k1", "text/csv");
        one.push(&store, b"only".to_vec()).await.unwrap();
        one.finish(&store).await.unwrap();
        assert_eq!(store.get_now("b", "k1").unwrap(), b"only");
        assert_eq!(store.calls("CreateMultipartUpload"), 0);

        let mut many = PieceWriter::new("b", "k2", "text/csv");
        for piece in [&b"ab"[..], b"cd", b"e"] {
            many.push(&store, piece.to_vec()).await.unwrap();
        }
        many.finish(&store).await.unwrap();
        assert_eq!(store.get_now("b", "k2").unwrap(), b"abcde");
        assert_eq!(store.calls("UploadPart"), 3);
    }

    #[tokio::test]
    async fn a_failed_piece_aborts_the_upload_and_leaves_no_object() {
        let store = MemoryStore::default();
        store.fail_next("UploadPart", 1);
        let mut w = PieceWriter::new("b", "k", "text/csv");
        w.push(&store, b"a".to_vec()).await.unwrap();
        // The second piece sends the first, which fails.
        let err = w.push(&store, b"b".to_vec()).await.unwrap_err();
        assert_eq!(err.name(), "Transient");
        assert!(store.get_now("b", "k").is_none());
        assert_eq!(store.open_uploads(), 0, "the upload was aborted");
    }
}
