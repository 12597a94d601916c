//! Personalize's data deletion jobs in memory: a job goes through a script of states, one per
//! DescribeDataDeletionJob (PENDING, IN_PROGRESS, COMPLETED by default), names are unique per
//! dataset group, and calls fail on request.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use crate::error::ErasureError;
use crate::payload::JobState;
use crate::ports::{Created, DeletionJobs, JobDescription, NewJob};

#[derive(Debug, Clone)]
struct Job {
    spec: NewJob,
    describes: usize,
    created: i64,
}

struct State {
    jobs: BTreeMap<String, Job>,
    script: Vec<JobState>,
    failure_reason: String,
    calls: HashMap<&'static str, u64>,
    failing: HashMap<&'static str, VecDeque<ErasureError>>,
}

/// Deletion jobs in memory.
pub struct MemoryJobs {
    state: Mutex<State>,
}

impl Default for MemoryJobs {
    fn default() -> Self {
        MemoryJobs {
            state: Mutex::new(State {
                jobs: BTreeMap::new(),
                script: vec![JobState::Pending, JobState::InProgress, JobState::Completed],
                failure_reason: "the user list could not be read".into(),
                calls: HashMap::new(),
                failing: HashMap::new(),
            }),
        }
    }
}

impl MemoryJobs {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut state)
    }

    fn call(&self, op: &'static str) -> Result<(), ErasureError> {
        self.with(|s| {
            *s.calls.entry(op).or_default() += 1;
            match s.failing.get_mut(op).and_then(VecDeque::pop_front) {
                Some(e) => Err(e),
                None => Ok(()),
            }
        })
    }

    /// The states every job goes through, one per describe (the last one stays).
    pub fn script(&self, states: &[JobState]) {
        self.with(|s| s.script = states.to_vec());
    }

    /// The next calls of `op` fail with these errors, in order.
    pub fn fail_next(&self, op: &'static str, errors: Vec<ErasureError>) {
        self.with(|s| s.failing.entry(op).or_default().extend(errors));
    }

    /// Calls made of one operation (CreateDataDeletionJob, ListDataDeletionJobs, DescribeDataDeletionJob).
    pub fn calls(&self, op: &str) -> u64 {
        self.with(|s| s.calls.get(op).copied().unwrap_or(0))
    }

    /// Every job created, in creation order of their ARNs.
    pub fn created(&self) -> Vec<NewJob> {
        self.with(|s| s.jobs.values().map(|j| j.spec.clone()).collect())
    }

    fn arn(name: &str) -> String {
        format!("arn:aws:personalize:us-east-1:123456789012:data-deletion-job/{name}")
    }
}

impl DeletionJobs for MemoryJobs {
    async fn create(&self, job: &NewJob) -> Result<Created, ErasureError> {
        self.call("CreateDataDeletionJob")?;
        Ok(self.with(|s| {
            let arn = Self::arn(&job.name);
            if s.jobs.contains_key(&arn) {
                return Created::NameTaken;
            }
            s.jobs.insert(
                arn.clone(),
                Job {
                    spec: job.clone(),
                    describes: 0,
                    created: time::OffsetDateTime::now_utc().unix_timestamp(),
                },
            );
            Created::New(arn)
        }))
    }

    async fn by_name(
        &self,
        dataset_group_arn: &str,
    ) -> Result<HashMap<String, String>, ErasureError> {
        self.call("ListDataDeletionJobs")?;
        Ok(self.with(|s| {
            s.jobs
                .iter()
                .filter(|(_, j)| j.spec.dataset_group_arn == dataset_group_arn)
                .map(|(arn, j)| (j.spec.name.clone(), arn.clone()))
                .collect()
        }))
    }

    async fn describe(&self, job_arn: &str) -> Result<JobDescription, ErasureError> {
        self.call("DescribeDataDeletionJob")?;
        self.with(|s| {
            let script = s.script.clone();
            let reason = s.failure_reason.clone();
            let job = s.jobs.get_mut(job_arn).ok_or_else(|| {
                ErasureError::NotFound(format!("DescribeDataDeletionJob: no job {job_arn}"))
            })?;
            let state = script
                .get(job.describes)
                .or(script.last())
                .copied()
                .unwrap_or(JobState::Unknown);
            job.describes += 1;
            Ok(JobDescription {
                state,
                num_deleted: (state == JobState::Completed).then_some(3),
                failure_reason: (state == JobState::Failed).then_some(reason),
                created_epoch: Some(job.created),
                updated_epoch: Some(job.created + job.describes as i64),
            })
        })
    }
}
