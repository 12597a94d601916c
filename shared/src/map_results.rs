//! What a Distributed Map's ResultWriter exports: a `manifest.json` naming result files, each a
//! JSON array with one entry per child execution ("ResultWriter (Map)" and "Processing
//! Distributed Map results", Step Functions developer guide). The maps of this workflow export
//! their children's results instead of returning them into the state payload (256 KiB).

use serde::Deserialize;

/// `manifest.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ResultManifest {
    /// The bucket the result files are in.
    #[serde(rename = "DestinationBucket", default)]
    pub destination_bucket: String,
    /// The map run.
    #[serde(rename = "MapRunArn", default)]
    pub map_run_arn: String,
    /// The result files, by the status of the children they hold.
    #[serde(rename = "ResultFiles", default)]
    pub result_files: ResultFiles,
}

/// The result files of one map run, by child status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ResultFiles {
    /// Children that succeeded.
    #[serde(rename = "SUCCEEDED", default)]
    pub succeeded: Vec<ResultFile>,
    /// Children that failed (an error no Retry absorbed), timed out or were aborted.
    #[serde(rename = "FAILED", default)]
    pub failed: Vec<ResultFile>,
    /// Children that never started (the map run stopped first).
    #[serde(rename = "PENDING", default)]
    pub pending: Vec<ResultFile>,
}

/// One result file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ResultFile {
    /// Its key in the destination bucket.
    #[serde(rename = "Key")]
    pub key: String,
    /// Its size in bytes.
    #[serde(rename = "Size", default)]
    pub size: u64,
}

/// One child execution, as a result file lists it (the fields this workflow reads).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ChildResult {
    /// SUCCEEDED, FAILED, TIMED_OUT or ABORTED.
    #[serde(rename = "Status", default)]
    pub status: String,
    /// The child's input (the manifest item), as JSON text.
    #[serde(rename = "Input", default)]
    pub input: Option<String>,
    /// The child's output, as JSON text (children that succeeded).
    #[serde(rename = "Output", default)]
    pub output: Option<String>,
    /// The error a child failed with.
    #[serde(rename = "Error", default)]
    pub error: Option<String>,
    /// Its cause.
    #[serde(rename = "Cause", default)]
    pub cause: Option<String>,
}

impl ChildResult {
    /// The child's input, read as the manifest item it was.
    pub fn item<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        self.input
            .as_deref()
            .and_then(|i| serde_json::from_str(i).ok())
    }

    /// The child's output, read as `T`.
    pub fn output<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        self.output
            .as_deref()
            .and_then(|o| serde_json::from_str(o).ok())
    }

    /// The error name a child that did not succeed ended with (`States.Timeout` for one that
    /// timed out without an error, `States.Aborted` for one that was stopped).
    pub fn error_name(&self) -> String {
        match (&self.error, self.status.as_str()) {
            (Some(e), _) if !e.is_empty() => e.clone(),
            (_, "TIMED_OUT") => "States.Timeout".into(),
            (_, "ABORTED") => "States.Aborted".into(),
            _ => "States.ChildFailed".into(),
        }
    }
}

/// Parses one result file.
pub fn parse_result_file(bytes: &[u8]) -> Result<Vec<ChildResult>, serde_json::Error> {
    serde_json::from_slice(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A manifest and a FAILED file in the shape the Step Functions guide shows.
    #[test]
    fn reads_a_manifest_and_the_children_of_a_result_file() {
        let manifest: ResultManifest = serde_json::from_str(
            r#"{"DestinationBucket":"b","MapRunArn":"arn:aws:states:us-east-1:1:mapRun:sm/Shards:u",
                "ResultFiles":{"FAILED":[{"Key":"p/u/FAILED_0.json","Size":10}],"PENDING":[],
                "SUCCEEDED":[{"Key":"p/u/SUCCEEDED_0.json","Size":20}]}}"#,
        )
        .unwrap();
        assert_eq!(manifest.result_files.failed[0].key, "p/u/FAILED_0.json");
        assert_eq!(manifest.result_files.succeeded.len(), 1);
        let children = parse_result_file(
            br#"[{"ExecutionArn":"arn:e","Input":"{\"index\":3,\"users\":9}","InputDetails":{"Included":true},
                 "Name":"n","Status":"FAILED","Error":"Forbidden","Cause":"access denied",
                 "RedriveCount":0,"StartDate":"2026-12-01T00:00:00Z","StateMachineArn":"arn:sm",
                 "StopDate":"2026-12-01T00:00:01Z"},
                {"Status":"TIMED_OUT","Input":"{\"index\":4}"}]"#,
        )
        .unwrap();
        #[derive(serde::Deserialize)]
        struct Item {
            index: u32,
        }
        assert_eq!(children[0].item::<Item>().map(|i| i.index), Some(3));
        assert_eq!(children[0].error_name(), "Forbidden");
        assert_eq!(children[1].error_name(), "States.Timeout");
        assert!(children[1].output::<serde_json::Value>().is_none());
    }
}
