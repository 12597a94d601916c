//! The S3 adapter against the real SDK client (aws-smithy-mocks): what it sends and how it
//! reads S3's answers. The purge and the piece writer are tested over the trait, in memory.

use super::*;
use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
use aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput;
use aws_sdk_s3::types::{DeleteMarkerEntry, Error as S3Error, ObjectVersion};
use aws_smithy_mocks::{mock, mock_client, RuleMode};

#[tokio::test]
async fn a_listing_gives_versions_and_delete_markers_with_their_ids() {
    let list = mock!(aws_sdk_s3::Client::list_object_versions)
        .match_requests(|r| r.prefix() == Some("work/r/") && r.max_keys() == Some(1000))
        .then_output(|| {
            ListObjectVersionsOutput::builder()
                .versions(
                    ObjectVersion::builder()
                        .key("work/r/a")
                        .version_id("v1")
                        .build(),
                )
                .versions(
                    ObjectVersion::builder()
                        .key("work/r/b")
                        .version_id("null")
                        .build(),
                )
                .delete_markers(
                    DeleteMarkerEntry::builder()
                        .key("work/r/a")
                        .version_id("m1")
                        .build(),
                )
                .build()
        });
    let store = S3Store::new(mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&list]));
    let listed = store.list_versions("b", "work/r/", 1000).await.unwrap();
    let got: Vec<(&str, Option<&str>)> = listed
        .iter()
        .map(|v| (v.key.as_str(), v.version_id.as_deref()))
        .collect();
    // "null" (an object written before versioning) is deleted without a version ID.
    assert_eq!(
        got,
        [
            ("work/r/a", Some("v1")),
            ("work/r/b", None),
            ("work/r/a", Some("m1"))
        ]
    );
}

#[tokio::test]
async fn a_batch_delete_is_quiet_names_each_version_and_reports_what_was_refused() {
    let delete = mock!(aws_sdk_s3::Client::delete_objects)
        .match_requests(|r| {
            let d = r.delete().expect("a Delete");
            d.quiet() == Some(true)
                && d.objects().len() == 2
                && d.objects()[0].version_id() == Some("v1")
                && d.objects()[1].version_id().is_none()
        })
        .then_output(|| {
            DeleteObjectsOutput::builder()
                .errors(
                    S3Error::builder()
                        .key("work/r/b")
                        .code("AccessDenied")
                        .build(),
                )
                .build()
        });
    let store = S3Store::new(mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&delete]));
    let refused = store
        .delete_versions(
            "b",
            vec![
                VersionRef {
                    key: "work/r/a".into(),
                    version_id: Some("v1".into()),
                },
                VersionRef {
                    key: "work/r/b".into(),
                    version_id: None,
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        refused,
        [Refused {
            key: "work/r/b".into(),
            code: "AccessDenied".into()
        }]
    );
}
