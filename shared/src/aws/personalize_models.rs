//! Personalize's models and jobs as the workflow's [`Models`]: List and Describe calls to see
//! what uses a dataset group, CreateSolutionVersion and UpdateCampaign to retrain after a
//! deletion. The rules (what must be quiet, which training serves which request) are in
//! `steps/models`, over the trait.

use aws_sdk_personalize::types::{Tag, TrainingMode};
use aws_sdk_personalize::Client;

use super::errors::from_sdk;
use crate::error::ErasureError;
use crate::ports::{
    Activity, ActivityKind, CampaignInfo, CampaignUpdate, Models, RecommenderInfo, Survey,
    VersionInfo,
};

/// Jobs of one kind a survey describes for their S3 locations (the newest first); the rest are
/// counted in [`Survey::not_described`].
pub const DESCRIBED_PER_KIND: usize = 50;

/// Every item of a paginated List call (all pages), or the call's typed error.
macro_rules! all_items {
    ($request:expr, $op:literal) => {{
        let items: Result<Vec<_>, _> = $request.into_paginator().items().send().collect().await;
        items.map_err(|e| from_sdk($op, &e, true))?
    }};
}

/// A Personalize client as the workflow's models.
#[derive(Clone)]
pub struct PersonalizeModels {
    client: Client,
}

impl PersonalizeModels {
    /// Wraps a client (built once, in main).
    pub fn new(client: Client) -> Self {
        PersonalizeModels { client }
    }
}

fn secs(t: Option<&aws_smithy_types::DateTime>) -> Option<i64> {
    t.map(|t| t.secs())
}

fn tags(tags: &[(String, String)]) -> Result<Vec<Tag>, ErasureError> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .tag_key(k)
                .tag_value(v)
                .build()
                .map_err(|e| ErasureError::Invalid(format!("tag {k}: {e}")))
        })
        .collect()
}

fn activity(
    kind: ActivityKind,
    arn: Option<&str>,
    status: Option<&str>,
    created: Option<&aws_smithy_types::DateTime>,
) -> Option<Activity> {
    Some(Activity {
        kind,
        arn: arn?.to_string(),
        status: status.unwrap_or("UNKNOWN").to_string(),
        created_epoch: secs(created),
        training_mode: None,
        locations: Vec::new(),
    })
}

impl PersonalizeModels {
    async fn datasets(&self, group: &str) -> Result<Vec<String>, ErasureError> {
        let items = all_items!(
            self.client.list_datasets().dataset_group_arn(group),
            "ListDatasets"
        );
        Ok(items
            .iter()
            .filter_map(|d| d.dataset_arn().map(String::from))
            .collect())
    }

    async fn imports_and_exports(
        &self,
        dataset: &str,
        found: &mut Vec<Activity>,
    ) -> Result<(), ErasureError> {
        let imports = all_items!(
            self.client.list_dataset_import_jobs().dataset_arn(dataset),
            "ListDatasetImportJobs"
        );
        found.extend(imports.iter().filter_map(|j| {
            activity(
                ActivityKind::DatasetImport,
                j.dataset_import_job_arn(),
                j.status(),
                j.creation_date_time(),
            )
        }));
        let exports = all_items!(
            self.client.list_dataset_export_jobs().dataset_arn(dataset),
            "ListDatasetExportJobs"
        );
        found.extend(exports.iter().filter_map(|j| {
            activity(
                ActivityKind::DatasetExport,
                j.dataset_export_job_arn(),
                j.status(),
                j.creation_date_time(),
            )
        }));
        Ok(())
    }

    async fn solutions(&self, group: &str) -> Result<Vec<String>, ErasureError> {
        let items = all_items!(
            self.client.list_solutions().dataset_group_arn(group),
            "ListSolutions"
        );
        Ok(items
            .iter()
            .filter_map(|s| s.solution_arn().map(String::from))
            .collect())
    }

    /// The batch jobs of the account whose solution version belongs to one of `solutions`
    /// (a version's ARN is its solution's ARN and an ID: `.../solution/<name>/<id>`).
    async fn batch_jobs(
        &self,
        solutions: &[String],
        found: &mut Vec<Activity>,
    ) -> Result<(), ErasureError> {
        let ours = |version: Option<&str>| {
            version.is_some_and(|v| {
                solutions.iter().any(|s| {
                    v.strip_prefix(s.as_str())
                        .is_some_and(|r| r.starts_with('/'))
                })
            })
        };
        let inference = all_items!(
            self.client.list_batch_inference_jobs(),
            "ListBatchInferenceJobs"
        );
        found.extend(
            inference
                .iter()
                .filter(|j| ours(j.solution_version_arn()))
                .filter_map(|j| {
                    activity(
                        ActivityKind::BatchInference,
                        j.batch_inference_job_arn(),
                        j.status(),
                        j.creation_date_time(),
                    )
                }),
        );
        let segment = all_items!(
            self.client.list_batch_segment_jobs(),
            "ListBatchSegmentJobs"
        );
        found.extend(
            segment
                .iter()
                .filter(|j| ours(j.solution_version_arn()))
                .filter_map(|j| {
                    activity(
                        ActivityKind::BatchSegment,
                        j.batch_segment_job_arn(),
                        j.status(),
                        j.creation_date_time(),
                    )
                }),
        );
        Ok(())
    }

    /// The S3 locations one job read or wrote, from its Describe call.
    async fn locations(&self, a: &Activity) -> Result<Vec<String>, ErasureError> {
        let mut out = Vec::new();
        match a.kind {
            ActivityKind::DatasetImport => {
                let d = self
                    .client
                    .describe_dataset_import_job()
                    .dataset_import_job_arn(&a.arn)
                    .send()
                    .await
                    .map_err(|e| from_sdk("DescribeDatasetImportJob", &e, true))?;
                let loc = d
                    .dataset_import_job()
                    .and_then(|j| j.data_source())
                    .and_then(|s| s.data_location());
                out.extend(loc.map(String::from));
            }
            ActivityKind::DatasetExport => {
                let d = self
                    .client
                    .describe_dataset_export_job()
                    .dataset_export_job_arn(&a.arn)
                    .send()
                    .await
                    .map_err(|e| from_sdk("DescribeDatasetExportJob", &e, true))?;
                let loc = d
                    .dataset_export_job()
                    .and_then(|j| j.job_output())
                    .and_then(|o| o.s3_data_destination())
                    .map(|s| s.path());
                out.extend(loc.map(String::from));
            }
            ActivityKind::BatchInference => {
                let d = self
                    .client
                    .describe_batch_inference_job()
                    .batch_inference_job_arn(&a.arn)
                    .send()
                    .await
                    .map_err(|e| from_sdk("DescribeBatchInferenceJob", &e, true))?;
                if let Some(j) = d.batch_inference_job() {
                    out.extend(
                        j.job_input()
                            .and_then(|i| i.s3_data_source())
                            .map(|s| s.path().to_string()),
                    );
                    out.extend(
                        j.job_output()
                            .and_then(|o| o.s3_data_destination())
                            .map(|s| s.path().to_string()),
                    );
                }
            }
            ActivityKind::BatchSegment => {
                let d = self
                    .client
                    .describe_batch_segment_job()
                    .batch_segment_job_arn(&a.arn)
                    .send()
                    .await
                    .map_err(|e| from_sdk("DescribeBatchSegmentJob", &e, true))?;
                if let Some(j) = d.batch_segment_job() {
                    out.extend(
                        j.job_input()
                            .and_then(|i| i.s3_data_source())
                            .map(|s| s.path().to_string()),
                    );
                    out.extend(
                        j.job_output()
                            .and_then(|o| o.s3_data_destination())
                            .map(|s| s.path().to_string()),
                    );
                }
            }
            ActivityKind::Training => {}
        }
        Ok(out)
    }
}

fn version_info(
    arn: &str,
    status: Option<&str>,
    mode: Option<&TrainingMode>,
    created: Option<&aws_smithy_types::DateTime>,
) -> VersionInfo {
    VersionInfo {
        arn: arn.to_string(),
        status: status.unwrap_or("UNKNOWN").to_string(),
        training_mode: mode.map(|m| m.as_str().to_string()),
        created_epoch: secs(created),
        training_hours: None,
        failure_reason: None,
        updated_epoch: None,
    }
}

impl Models for PersonalizeModels {
    async fn survey(&self, group: &str, locations: bool) -> Result<Survey, ErasureError> {
        let mut survey = Survey::default();
        for dataset in self.datasets(group).await? {
            self.imports_and_exports(&dataset, &mut survey.activities)
                .await?;
        }
        survey.solutions = self.solutions(group).await?;
        for solution in &survey.solutions {
            for v in self.versions(solution).await? {
                survey.activities.push(Activity {
                    kind: ActivityKind::Training,
                    arn: v.arn,
                    status: v.status,
                    created_epoch: v.created_epoch,
                    training_mode: v.training_mode,
                    locations: Vec::new(),
                });
            }
        }
        self.batch_jobs(&survey.solutions, &mut survey.activities)
            .await?;
        let trackers = all_items!(
            self.client.list_event_trackers().dataset_group_arn(group),
            "ListEventTrackers"
        );
        survey.event_trackers = trackers
            .iter()
            .filter_map(|t| t.event_tracker_arn().map(String::from))
            .collect();
        let recommenders = all_items!(
            self.client.list_recommenders().dataset_group_arn(group),
            "ListRecommenders"
        );
        survey.recommenders = recommenders
            .iter()
            .filter_map(|r| {
                Some(RecommenderInfo {
                    arn: r.recommender_arn()?.to_string(),
                    status: r.status().unwrap_or("UNKNOWN").to_string(),
                })
            })
            .collect();
        if locations {
            survey
                .activities
                .sort_by_key(|a| std::cmp::Reverse(a.created_epoch));
            let mut described: std::collections::HashMap<ActivityKind, usize> =
                std::collections::HashMap::new();
            for i in 0..survey.activities.len() {
                let kind = survey.activities[i].kind;
                if kind == ActivityKind::Training {
                    continue;
                }
                let n = described.entry(kind).or_default();
                if *n >= DESCRIBED_PER_KIND {
                    survey.not_described += 1;
                    continue;
                }
                *n += 1;
                let found = self.locations(&survey.activities[i]).await?;
                survey.activities[i].locations = found;
            }
        }
        Ok(survey)
    }

    async fn versions(&self, solution: &str) -> Result<Vec<VersionInfo>, ErasureError> {
        let items = all_items!(
            self.client.list_solution_versions().solution_arn(solution),
            "ListSolutionVersions"
        );
        Ok(items
            .iter()
            .filter_map(|v| {
                Some(version_info(
                    v.solution_version_arn()?,
                    v.status(),
                    v.training_mode(),
                    v.creation_date_time(),
                ))
            })
            .collect())
    }

    async fn version(&self, arn: &str) -> Result<VersionInfo, ErasureError> {
        let out = self
            .client
            .describe_solution_version()
            .solution_version_arn(arn)
            .send()
            .await
            .map_err(|e| from_sdk("DescribeSolutionVersion", &e, true))?;
        let v = out.solution_version().ok_or_else(|| {
            ErasureError::Service("DescribeSolutionVersion returned no version".into())
        })?;
        let mut info = version_info(arn, v.status(), v.training_mode(), v.creation_date_time());
        info.training_hours = v.training_hours();
        // SolutionVersion.lastUpdatedDateTime, "The date and time (in Unix time) that the
        // solution was last updated" (Amazon Personalize API Reference, SolutionVersion:
        // https://docs.aws.amazon.com/personalize/latest/dg/API_SolutionVersion.html).
        info.updated_epoch = secs(v.last_updated_date_time());
        info.failure_reason = v.failure_reason().map(String::from);
        Ok(info)
    }

    async fn train(
        &self,
        solution: &str,
        with: &[(String, String)],
    ) -> Result<String, ErasureError> {
        let out = self
            .client
            .create_solution_version()
            .solution_arn(solution)
            .training_mode(TrainingMode::Full)
            .set_tags(Some(tags(with)?))
            .send()
            .await
            .map_err(|e| from_sdk("CreateSolutionVersion", &e, true))?;
        out.solution_version_arn()
            .map(String::from)
            .ok_or_else(|| ErasureError::Service("CreateSolutionVersion returned no ARN".into()))
    }

    async fn tag(&self, arn: &str, with: &[(String, String)]) -> Result<(), ErasureError> {
        self.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags(with)?))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| from_sdk("TagResource", &e, true))
    }

    async fn campaigns(&self, solution: &str) -> Result<Vec<CampaignInfo>, ErasureError> {
        let items = all_items!(
            self.client.list_campaigns().solution_arn(solution),
            "ListCampaigns"
        );
        let mut out = Vec::with_capacity(items.len());
        for arn in items.iter().filter_map(|c| c.campaign_arn()) {
            let d = self
                .client
                .describe_campaign()
                .campaign_arn(arn)
                .send()
                .await
                .map_err(|e| from_sdk("DescribeCampaign", &e, true))?;
            let Some(c) = d.campaign() else { continue };
            out.push(CampaignInfo {
                arn: arn.to_string(),
                solution_version_arn: c.solution_version_arn().map(String::from),
                syncs_with_latest: c
                    .campaign_config()
                    .and_then(|cfg| cfg.sync_with_latest_solution_version())
                    .unwrap_or(false),
                update: c.latest_campaign_update().map(|u| CampaignUpdate {
                    solution_version_arn: u.solution_version_arn().map(String::from),
                    status: u.status().unwrap_or("UNKNOWN").to_string(),
                    failure_reason: u.failure_reason().map(String::from),
                }),
            });
        }
        Ok(out)
    }

    async fn update_campaign(&self, campaign: &str, version: &str) -> Result<(), ErasureError> {
        self.client
            .update_campaign()
            .campaign_arn(campaign)
            .solution_version_arn(version)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| from_sdk("UpdateCampaign", &e, true))
    }
}
