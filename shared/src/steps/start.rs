//! The S3 trigger: one execution per request object, named so a repeat starts nothing.

use aws_lambda_events::s3::S3Event;
use serde::Serialize;

use crate::config;
use crate::error::{ConfigError, ErasureError};
use crate::naming::RequestId;
use crate::payload::{ExecutionInput, Mode, RequestObject, Uploader};
use crate::ports::{Executions, Start};
use crate::s3_event::{classify, decode_key};

/// Settings of the trigger.
#[derive(Debug, Clone)]
pub struct StartConfig {
    /// The workflow to start.
    pub state_machine_arn: String,
    /// Only keys under this prefix are requests.
    pub request_prefix: String,
    /// Keys under this prefix are previews: validated and counted, never erased.
    pub plan_prefix: String,
    /// Whether the uploader's role session name goes into the request (and so the execution's
    /// input and the receipt): session names often carry a person's user name.
    pub keep_session_name: bool,
}

impl StartConfig {
    /// Reads STATE_MACHINE_ARN, REQUEST_PREFIX, PLAN_PREFIX and RECORD_UPLOADER_SESSION_NAME
    /// (`keep` or `drop`, the default).
    pub fn from_env() -> Result<Self, ConfigError> {
        let session = config::or_default("RECORD_UPLOADER_SESSION_NAME", "drop");
        let keep_session_name = match session.trim().to_ascii_lowercase().as_str() {
            "keep" => true,
            "drop" | "" => false,
            other => {
                return Err(ConfigError {
                    name: "RECORD_UPLOADER_SESSION_NAME",
                    problem: format!("{other:?} is not keep or drop"),
                })
            }
        };
        let cfg = StartConfig {
            state_machine_arn: config::required("STATE_MACHINE_ARN")?,
            request_prefix: config::prefix("REQUEST_PREFIX", "requests/")?,
            plan_prefix: config::prefix("PLAN_PREFIX", "plans/")?,
            keep_session_name,
        };
        if cfg.plan_prefix.starts_with(&cfg.request_prefix)
            || cfg.request_prefix.starts_with(&cfg.plan_prefix)
        {
            return Err(ConfigError {
                name: "PLAN_PREFIX",
                problem: "the plan and request prefixes must not contain one another".into(),
            });
        }
        Ok(cfg)
    }

    /// Whether a key is a request to erase or a plan, or neither (None).
    fn mode_of(&self, key: &str, size: u64) -> Result<Mode, crate::s3_event::Skip> {
        match classify(key, size, &self.plan_prefix) {
            Ok(()) => Ok(Mode::Plan),
            Err(crate::s3_event::Skip::OutsidePrefix) => {
                classify(key, size, &self.request_prefix).map(|()| Mode::Erase)
            }
            Err(skip) => Err(skip),
        }
    }
}

/// What the trigger did with one event.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StartSummary {
    /// Executions started.
    pub started: u32,
    /// Requests whose execution already existed.
    pub duplicates: u32,
    /// Records that were not requests.
    pub ignored: u32,
    /// Execution names, started or duplicate.
    pub executions: Vec<String>,
}

/// Turns an S3 event into StartExecution calls. Every record is tried; if any failed, the
/// error is returned after the others were handled, so Lambda retries and the started ones
/// come back as duplicates.
pub async fn handle(
    cfg: &StartConfig,
    executions: &impl Executions,
    event: S3Event,
) -> Result<StartSummary, ErasureError> {
    let mut summary = StartSummary::default();
    let mut first_error = None;
    for record in event.records {
        let name = record.event_name.as_deref().unwrap_or_default();
        if !name.starts_with("ObjectCreated") {
            summary.ignored += 1;
            continue;
        }
        let (Some(bucket), Some(raw_key)) = (
            record.s3.bucket.name.as_deref(),
            record.s3.object.key.as_deref(),
        ) else {
            tracing::warn!("an S3 record without bucket or key was ignored");
            summary.ignored += 1;
            continue;
        };
        let key = match decode_key(raw_key) {
            Ok(k) => k,
            Err(why) => {
                tracing::warn!(why, "an S3 record was ignored");
                summary.ignored += 1;
                continue;
            }
        };
        let size = record.s3.object.size.unwrap_or(0).max(0) as u64;
        let mode = match cfg.mode_of(&key, size) {
            Ok(mode) => mode,
            Err(skip) => {
                tracing::info!(?skip, "object is not a request; ignored");
                summary.ignored += 1;
                continue;
            }
        };
        let Some(etag) = record.s3.object.e_tag.as_deref().filter(|e| !e.is_empty()) else {
            tracing::error!(
                "request object without an ETag in its event; cannot name its execution"
            );
            first_error.get_or_insert(ErasureError::Invalid("an S3 record had no ETag".into()));
            continue;
        };
        let version_id = record
            .s3
            .object
            .version_id
            .clone()
            .filter(|v| !v.is_empty() && v != "null");
        // Which upload this is: the version ID, or in a bucket without versioning the event's
        // sequencer ("The sequencer key provides a way to determine the sequence of events": one
        // per PUT of a key, the same in a redelivered event), so that the same file uploaded
        // again is erased again and a redelivered event is not.
        let upload = version_id
            .as_deref()
            .or(record.s3.object.sequencer.as_deref());
        let id = RequestId::for_upload(bucket, &key, etag, upload);
        let uploaded_at = record
            .event_time
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        let input =
            ExecutionInput {
                request: RequestObject {
                    sha256: None,
                    bucket: bucket.to_string(),
                    key: key.clone(),
                    version_id,
                    etag: etag.trim_matches('"').to_string(),
                    size,
                    request_id: id.clone(),
                    mode,
                    // "userIdentity": {"principalId": …} and "eventTime" of the record
                    // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).
                    uploader: record.principal_id.principal_id.as_deref().map(|p| {
                        Uploader::from_event(p, Some(&uploaded_at), cfg.keep_session_name)
                    }),
                },
                execution: None,
            };
        let body =
            serde_json::to_string(&input).map_err(|e| ErasureError::Invalid(e.to_string()))?;
        let exec = id.execution_name();
        match executions.start(&cfg.state_machine_arn, &exec, &body).await {
            Ok(Start::Started(arn)) => {
                tracing::info!(execution = %exec, execution_arn = %arn, "erasure started");
                summary.started += 1;
                summary.executions.push(exec);
            }
            Ok(Start::Duplicate) => {
                tracing::info!(execution = %exec, "duplicate delivery: the erasure was already started");
                summary.duplicates += 1;
                summary.executions.push(exec);
            }
            Err(e) => {
                tracing::error!(execution = %exec, error = %e, "could not start the erasure");
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(summary),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryExecutions;

    fn cfg() -> StartConfig {
        StartConfig {
            state_machine_arn: "arn:sm".into(),
            request_prefix: "requests/".into(),
            plan_prefix: "plans/".into(),
            keep_session_name: false,
        }
    }

    fn record(name: &str, key: &str, etag: &str, upload: (&str, &str)) -> serde_json::Value {
        let mut object = serde_json::json!({"key": key, "eTag": etag, "size": 10});
        object[upload.0] = serde_json::json!(upload.1);
        serde_json::json!({
            "eventName": name,
            "eventTime": "2026-11-22T10:00:00.000Z",
            "userIdentity": {"principalId": "AWS:X"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "s3": {"bucket": {"name": "b"}, "object": object}
        })
    }

    fn event(records: &[(&str, &str, &str)]) -> S3Event {
        let recs: Vec<serde_json::Value> = records
            .iter()
            .map(|(name, key, etag)| record(name, key, etag, ("versionId", "v1")))
            .collect();
        serde_json::from_value(serde_json::json!({ "Records": recs })).unwrap()
    }

    #[tokio::test]
    async fn every_record_is_handled_and_keys_are_decoded() {
        let executions = MemoryExecutions::default();
        let ev = event(&[
            ("ObjectCreated:Put", "requests/my+file+%231.csv", "\"e1\""),
            (
                "ObjectCreated:Put",
                "work/abc/personalize/part-000.csv",
                "e2",
            ),
            ("ObjectCreated:Put", "requests/notes.txt", "e3"),
            ("ObjectRemoved:Delete", "requests/gone.csv", "e4"),
            (
                "ObjectCreated:CompleteMultipartUpload",
                "requests/big.csv",
                "e5",
            ),
        ]);
        let summary = handle(&cfg(), &executions, ev).await.unwrap();
        // notes.txt starts an execution too: the workflow rejects it with a receipt.
        assert_eq!(
            (summary.started, summary.duplicates, summary.ignored),
            (3, 0, 2)
        );
        let expected = RequestId::for_upload("b", "requests/my file #1.csv", "e1", Some("v1"))
            .execution_name();
        let started = executions.started();
        let input: ExecutionInput = serde_json::from_str(&started[&expected]).unwrap();
        assert_eq!(input.request.key, "requests/my file #1.csv");
        assert_eq!(input.request.version_id.as_deref(), Some("v1"));
        assert_eq!(input.request.etag, "e1");
    }

    #[tokio::test]
    async fn a_repeat_is_a_duplicate_and_a_bad_record_does_not_stop_the_others() {
        let executions = MemoryExecutions::default();
        let first = event(&[("ObjectCreated:Put", "requests/a.csv", "e1")]);
        handle(&cfg(), &executions, first).await.unwrap();
        let ev = event(&[
            ("ObjectCreated:Put", "requests/a.csv", "e1"),
            ("ObjectCreated:Put", "requests/no-etag.csv", ""),
            ("ObjectCreated:Put", "requests/b.csv", "e2"),
        ]);
        // The record without an ETag fails the invocation (so Lambda retries it), after the others ran.
        let err = handle(&cfg(), &executions, ev).await.unwrap_err();
        assert_eq!(err.name(), "Invalid");
        assert_eq!(executions.started().len(), 2, "a.csv once, b.csv once");
    }

    #[tokio::test]
    async fn without_versioning_each_upload_is_told_apart_by_its_sequencer() {
        let executions = MemoryExecutions::default();
        let upload = |sequencer: &str| -> S3Event {
            let rec = record(
                "ObjectCreated:Put",
                "requests/a.csv",
                "e1",
                ("sequencer", sequencer),
            );
            serde_json::from_value(serde_json::json!({ "Records": [rec] })).unwrap()
        };
        let first = handle(&cfg(), &executions, upload("0055AED6DCD90281E5"))
            .await
            .unwrap();
        let again = handle(&cfg(), &executions, upload("0055AED6DCD90281E5"))
            .await
            .unwrap();
        let second = handle(&cfg(), &executions, upload("0055AED6DCD90281F0"))
            .await
            .unwrap();
        assert_eq!(
            (again.started, again.duplicates),
            (0, 1),
            "a redelivered event"
        );
        assert_eq!(first.executions, again.executions);
        assert_ne!(
            first.executions, second.executions,
            "the same file uploaded again"
        );
    }

    #[tokio::test]
    async fn a_file_under_the_plan_prefix_starts_a_plan_and_the_uploader_is_recorded_without_its_session(
    ) {
        let executions = MemoryExecutions::default();
        let mut rec = record(
            "ObjectCreated:Put",
            "plans/a.csv",
            "e1",
            ("versionId", "v1"),
        );
        rec["userIdentity"]["principalId"] = serde_json::json!("AWS:AROAEXAMPLE1:jane.doe");
        let mut again = rec.clone();
        again["s3"]["object"]["key"] = serde_json::json!("requests/a.csv");
        let ev: S3Event =
            serde_json::from_value(serde_json::json!({ "Records": [rec, again] })).unwrap();
        let summary = handle(&cfg(), &executions, ev).await.unwrap();
        assert_eq!(
            summary.started, 2,
            "the plan and the request are two executions"
        );
        let inputs: Vec<ExecutionInput> = executions
            .started()
            .values()
            .map(|b| serde_json::from_str(b).unwrap())
            .collect();
        let plan = inputs
            .iter()
            .find(|i| i.request.key == "plans/a.csv")
            .unwrap();
        let erase = inputs
            .iter()
            .find(|i| i.request.key == "requests/a.csv")
            .unwrap();
        assert_eq!(
            (plan.request.mode, erase.request.mode),
            (Mode::Plan, Mode::Erase)
        );
        let up = plan.request.uploader.as_ref().unwrap();
        assert_eq!(up.unique_id, "AROAEXAMPLE1");
        assert_eq!(up.session_name, None, "dropped by default");
        assert_eq!(up.uploaded_at.as_deref(), Some("2026-11-22T10:00:00.000Z"));
        // The session name never reaches the execution's input when dropped.
        assert!(!executions.started().values().any(|b| b.contains("jane")));
        let keep = StartConfig {
            keep_session_name: true,
            ..cfg()
        };
        let mut rec = record(
            "ObjectCreated:Put",
            "requests/b.csv",
            "e2",
            ("versionId", "v2"),
        );
        rec["userIdentity"]["principalId"] = serde_json::json!("AWS:AROAEXAMPLE1:jane.doe");
        let ev: S3Event = serde_json::from_value(serde_json::json!({ "Records": [rec] })).unwrap();
        handle(&keep, &executions, ev).await.unwrap();
        assert!(executions
            .started()
            .values()
            .any(|b| b.contains("\"sessionName\":\"jane.doe\"")));
    }
}
