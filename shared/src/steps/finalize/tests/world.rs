//! A bucket, Personalize and one destination in memory, and the real steps run over them up to
//! finalisation.

use std::time::{Duration, SystemTime};

use crate::error::ErasureError;
use crate::memory::{FakeTarget, MemoryJobs, MemoryModels, MemoryStore};
use crate::naming::RequestId;
use crate::pacing::Budget;
use crate::payload::{
    ExecutionFacts, ExecutionInput, FinalizeInput, FinalizeOutput, JobItem, JobSpec, MapRunOutput,
    Prepared, RequestObject, ShardSpec,
};
use crate::ports::{Lock, LockMode, TargetKind};
use crate::receipt::models::RetrainMode;
use crate::receipt::{Deployment, Receipt};
use crate::request_csv::BadRowPolicy;
use crate::split::SplitLimits;
use crate::steps::finalize::{handle, FinalizeConfig, Services};
use crate::steps::{check_job, create_job, erase, models, prepare};
use crate::user_hash::UserHasher;

pub(super) const BUCKET: &str = "b";
pub(super) const REQUEST: &str = "requests/r.csv";
pub(super) const LOCK_DAYS: u64 = 30;
pub(super) const GROUP: &str = "arn:dsg/one";

pub(super) fn user(i: usize) -> String {
    format!("final-user-{i:03}")
}

pub(super) fn id() -> RequestId {
    RequestId::parse(&"0".repeat(32)).expect("a valid request ID")
}

pub(super) fn hasher() -> UserHasher {
    UserHasher::new(&[9u8; 32]).expect("a key")
}

pub(super) fn cfg() -> FinalizeConfig {
    FinalizeConfig {
        receipt_prefix: "receipts/".into(),
        deployment: Deployment {
            application_ids: vec!["app".into()],
            domain_names: vec![],
            search_key: None,
            account: Some("123456789012".into()),
            region: Some("eu-west-1".into()),
        },
        work_prefix: "work/".into(),
        lock: Some((LockMode::Governance, LOCK_DAYS)),
        function_timeout: Duration::from_secs(900),
        legal: crate::legal_clock::Regime::Gdpr,
    }
}

/// A bucket, Personalize and one destination, with the request uploaded.
pub(super) struct World {
    pub(super) store: MemoryStore,
    pub(super) jobs: MemoryJobs,
    /// The dataset group's models (none unless a test adds a solution).
    pub(super) models: MemoryModels,
    pub(super) target: FakeTarget,
    /// A Customer Profiles domain beside the Pinpoint application, when the test adds one.
    pub(super) profiles: Option<FakeTarget>,
    pub(super) input: ExecutionInput,
}

impl World {
    pub(super) fn new(body: &[u8]) -> World {
        let store = MemoryStore::default();
        let version = store.insert(BUCKET, REQUEST, body.to_vec());
        let target = FakeTarget::new("app");
        let models = MemoryModels::default();
        models.group(GROUP);
        World {
            store,
            jobs: MemoryJobs::default(),
            models,
            target,
            profiles: None,
            input: ExecutionInput {
                request: RequestObject {
                    mode: Default::default(),
                    uploader: None,
                    bucket: BUCKET.into(),
                    key: REQUEST.into(),
                    version_id: Some(version),
                    etag: "etag".into(),
                    size: body.len() as u64,
                    request_id: "0".repeat(32).parse().unwrap(),
                    sha256: None,
                },
                execution: Some(ExecutionFacts {
                    name: "exec-1".into(),
                    start_time: "2026-12-01T00:00:00Z".into(),
                }),
            },
        }
    }

    /// Adds Customer Profiles domain `d1` (searched on `_account`) beside the application.
    pub(super) fn with_profiles(mut self) -> World {
        self.profiles = Some(FakeTarget::of_kind(TargetKind::CustomerProfiles, "d1"));
        self
    }

    /// The finalize step's settings for this world's destinations.
    pub(super) fn cfg(&self) -> FinalizeConfig {
        let mut c = cfg();
        if self.profiles.is_some() {
            c.deployment.domain_names = vec!["d1".into()];
            c.deployment.search_key = Some("_account".into());
        }
        c
    }

    /// `n` users, each holding one item in the destination.
    pub(super) fn with_users(n: usize) -> World {
        let mut csv = "USER_ID\n".to_string();
        for i in 0..n {
            csv.push_str(&format!("{}\n", user(i)));
        }
        let w = World::new(csv.as_bytes());
        for i in 0..n {
            w.target.holds(&user(i), 1);
        }
        w
    }

    pub(super) fn services(&self) -> Services<'_, MemoryStore, MemoryJobs> {
        Services {
            store: &self.store,
            jobs: &self.jobs,
        }
    }

    pub(super) async fn prepare(&self) -> Prepared {
        let cfg = prepare::PrepareConfig {
            uploader_role_arns: Vec::new(),
            work_prefix: "work/".into(),
            receipt_prefix: "receipts/".into(),
            max_request_bytes: 1 << 20,
            max_request_users: 10_000,
            limits: SplitLimits {
                max_part_bytes: 1 << 20,
                shard_users: 10,
            },
            policy: BadRowPolicy::RejectFile,
            dataset_group_arns: vec![GROUP.into()],
            regime: crate::legal_clock::Regime::Gdpr,
            shard_concurrency: 2,
        };
        prepare::handle(&cfg, &self.store, Some(&hasher()), self.input.clone())
            .await
            .expect("prepared")
    }

    /// The models step: the check before the jobs (`preflight`) or the retraining after them,
    /// run until it has nothing more to wait for (the test's models end their trainings and
    /// updates between looks).
    pub(super) async fn run_models(&self, prepared: &Prepared, preflight: bool) {
        let cfg = models::ModelsConfig {
            work_prefix: "work/".into(),
            dataset_group_arns: vec![GROUP.into()],
            quiesce: models::QuiescePolicy::Wait,
            quiesce_max_wait_seconds: 3600,
            quiesce_poll_seconds: 1,
            retrain: RetrainMode::Full,
            poll_seconds: 1,
            max_wait_seconds: 3600,
            max_job_wait_seconds: 3600,
        };
        let input = if preflight {
            crate::payload::ModelsInput::Preflight {
                request: self.input.request.clone(),
            }
        } else {
            crate::payload::ModelsInput::Retrain {
                request: self.input.request.clone(),
                jobs: prepared.jobs.clone(),
            }
        };
        self.models
            .set_now(time::OffsetDateTime::now_utc().unix_timestamp() + 5);
        for _ in 0..10 {
            let step = models::handle(&cfg, &self.store, &self.jobs, &self.models, input.clone())
                .await
                .expect("the models step");
            if step.done {
                return;
            }
            self.models.finish_trainings();
            self.models.finish_updates();
        }
        panic!("the models step never finished");
    }

    /// Creates every job and polls it until it ends.
    pub(super) async fn run_jobs(&self) {
        let specs: Vec<JobSpec> = self.manifest(&id().job_manifest_key("work/"));
        let create = create_job::CreateJobConfig {
            role_arn: "arn:role".into(),
            poll_seconds: 1,
        };
        let check = check_job::CheckJobConfig {
            poll_seconds: 1,
            max_wait_seconds: 3600,
        };
        for spec in specs {
            let job = create_job::handle(&create, &self.jobs, spec.clone())
                .await
                .expect("created");
            let mut item = JobItem {
                spec,
                job: Some(job),
                check: None,
                error: None,
            };
            loop {
                let status = check_job::handle(&check, &self.jobs, item.clone())
                    .await
                    .expect("checked");
                let done = status.done;
                item.check = Some(status);
                if done {
                    break;
                }
            }
        }
    }

    /// Erases every shard.
    pub(super) async fn run_shards(&self) {
        let cfg = erase::EraseConfig {
            application_ids: vec!["app".into()],
            pinpoint_rate: 100.0,
            profiles: None,
            headroom: 0.0,
            concurrency: 2,
            max_attempts: 2,
            work_prefix: "work/".into(),
            handback_margin: Duration::from_secs(30),
            function_timeout: Duration::from_secs(900),
        };
        let shards: Vec<ShardSpec> = self.manifest(&id().manifest_key("work/"));
        let budget = Budget::new(vec![], 0.0);
        let mut targets = vec![&self.target];
        targets.extend(self.profiles.as_ref());
        for shard in shards {
            erase::handle(&cfg, &self.store, &targets, &budget, None, shard)
                .await
                .expect("erased");
        }
    }

    pub(super) fn manifest<T: serde::de::DeserializeOwned>(&self, key: &str) -> T {
        serde_json::from_slice(&self.store.get_now(BUCKET, key).expect("manifest")).expect("JSON")
    }

    /// The state machine's input to the finalize step after both maps finished.
    pub(super) fn finalize_input(&self, prepared: Prepared) -> FinalizeInput {
        FinalizeInput {
            request: self.input.request.clone(),
            prepared: Some(prepared),
            results: Some(vec![MapRunOutput::default(), MapRunOutput::default()]),
            error: None,
            execution: ExecutionFacts {
                name: "exec-1".into(),
                start_time: "2026-12-01T00:00:00Z".into(),
            },
        }
    }

    /// The whole workflow, then finalisation.
    pub(super) async fn run(&self) -> Result<FinalizeOutput, ErasureError> {
        let prepared = self.prepare().await;
        self.run_models(&prepared, true).await;
        self.run_jobs().await;
        self.run_models(&prepared, false).await;
        self.run_shards().await;
        self.finalize(prepared).await
    }

    /// The finalize state, after both maps finished.
    pub(super) async fn finalize(
        &self,
        prepared: Prepared,
    ) -> Result<FinalizeOutput, ErasureError> {
        let h = hasher();
        handle(
            &self.cfg(),
            &self.services(),
            Some(&h),
            None,
            self.finalize_input(prepared),
        )
        .await
    }

    pub(super) fn receipt(&self, out: &FinalizeOutput) -> Receipt {
        let body = self
            .store
            .get_now(BUCKET, &out.receipt.key)
            .expect("a receipt");
        serde_json::from_slice(&body).expect("a readable receipt")
    }

    pub(super) fn work_versions(&self) -> usize {
        self.store
            .versions_under(BUCKET, &id().work_folder("work/"))
    }

    /// Every object under the receipt prefix, as text.
    pub(super) fn receipt_objects(&self) -> String {
        self.store
            .keys_under(BUCKET, "receipts/")
            .iter()
            .filter_map(|k| self.store.get_now(BUCKET, k))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .collect()
    }
}

pub(super) fn about_lock_days(lock: Option<Lock>) -> bool {
    let Some(lock) = lock else { return false };
    let days = lock
        .until
        .duration_since(SystemTime::now())
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0);
    lock.mode == LockMode::Governance && (LOCK_DAYS - 1..=LOCK_DAYS).contains(&days)
}
