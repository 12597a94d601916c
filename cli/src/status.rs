//! `erasure status`: where one request stands, read from AWS with the usual credential chain,
//! without reading a user ID (the stack's `OperatorRoleArn` may do all of it), and
//! `erasure status --list`: the recent requests with their outcome, age and days left.
//!
//! What it reads (shared/src/status.rs puts it together):
//! - Step Functions: DescribeExecution, GetExecutionHistory (every page), ListExecutions.
//! - S3: the shard manifest and each shard's progress object (counts and positions), the job
//!   manifest (keys and counts), the models record, the open-request record and the receipt.
//! - Personalize: ListDataDeletionJobs per dataset group (the jobs by their names) and
//!   DescribeDataDeletionJob per job of the request.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_sfn::types::HistoryEvent;
use erasure::aws::personalize::PersonalizeJobs;
use erasure::naming::RequestId;
use erasure::open_requests::{self, OpenRequest};
use erasure::payload::{ExecutionInput, JobSpec, Outcome, Prepared, ShardSpec};
use erasure::ports::DeletionJobs;
use erasure::receipt::models::ModelsRecord;
use erasure::receipt::Receipt;
use erasure::shard_progress::ShardProgress;
use erasure::status::{self, Event, Execution, JobSeen, Sources, Status};
use futures::{StreamExt, TryStreamExt};
use indicatif::{InMemoryTerm, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub const USAGE: &str = "usage: erasure status REQUEST [--watch [SECONDS]] [--format text|json] [--state-machine-arn ARN]
       erasure status --list [--limit N] [--format text|json] [--state-machine-arn ARN]

REQUEST is the request file (s3://BUCKET/requests/x.csv: its latest upload), the execution's name
(erasure-<id>, or a retry's) or ARN, or its receipt (a file or s3://BUCKET/receipts/R.json).
Shows per Personalize dataset group its deletion jobs and retraining, per Pinpoint application
and Customer Profiles domain the users handled of all (a progress bar), the rate achieved, the
time left at that rate, the pacing against the configured quota, and what the request waits for.
--watch refreshes every SECONDS (default 10) until the request ends.
--list shows the recent executions (--limit, default 20) with their outcome, age and, while a
request is not COMPLETED, the days left to its legal deadline.

Reads no user ID: the stack's OperatorRoleArn allows every call it makes. Uses the usual AWS
credential chain; the state machine from --state-machine-arn or ERASURE_STATE_MACHINE_ARN (the
stack's StateMachineArn output), needed for a name or a request file and for --list.
Exit code: 0 read (running, COMPLETED or PLANNED); 1 the request ended otherwise; 2 error.";

const WORK_PREFIX: &str = "work/";
const RECEIPT_PREFIX: &str = "receipts/";

struct Options {
    target: Option<String>,
    list: bool,
    limit: i32,
    watch: Option<u64>,
    json: bool,
    state_machine_arn: Option<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        target: None,
        list: false,
        limit: 20,
        watch: None,
        json: false,
        state_machine_arn: std::env::var("ERASURE_STATE_MACHINE_ARN")
            .ok()
            .filter(|a| !a.is_empty()),
    };
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--list" => o.list = true,
            "--limit" => {
                let v = it.next().ok_or("--limit needs a number")?;
                o.limit = v
                    .parse::<i32>()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or(format!("--limit: {v:?} is not a number from 1 to 1000"))?;
            }
            "--watch" => {
                let secs = match it.peek() {
                    Some(v) if v.parse::<u64>().is_ok() => {
                        it.next().and_then(|v| v.parse().ok()).unwrap_or(10)
                    }
                    _ => 10,
                };
                o.watch = Some(secs.max(1));
            }
            "--format" => match it.next().map(String::as_str) {
                Some("json") => o.json = true,
                Some("text") => o.json = false,
                other => return Err(format!("--format: {other:?} is not text or json")),
            },
            "--state-machine-arn" => {
                o.state_machine_arn =
                    Some(it.next().ok_or("--state-machine-arn needs an ARN")?.clone())
            }
            "-h" | "--help" => return Err(String::new()),
            t if !t.starts_with("--") && o.target.is_none() => o.target = Some(t.to_string()),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    if o.list == o.target.is_some() {
        return Err("status needs one REQUEST, or --list".into());
    }
    Ok(o)
}

/// Runs `erasure status`; returns the exit code.
pub fn run(args: &[String]) -> u8 {
    let o = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("erasure status: {e}");
            }
            eprintln!("{USAGE}");
            return 2;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("erasure status: {e}");
            return 2;
        }
    };
    match runtime.block_on(main(o)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("erasure status: {e}");
            2
        }
    }
}

struct Clients {
    sfn: aws_sdk_sfn::Client,
    s3: aws_sdk_s3::Client,
    jobs: PersonalizeJobs,
}

async fn main(o: Options) -> Result<u8, String> {
    let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let c = Clients {
        sfn: aws_sdk_sfn::Client::new(&conf),
        s3: erasure::aws::s3_client(&conf),
        jobs: PersonalizeJobs::new(aws_sdk_personalize::Client::new(&conf)),
    };
    if o.list {
        let sm = o
            .state_machine_arn
            .as_deref()
            .ok_or("--list needs --state-machine-arn or ERASURE_STATE_MACHINE_ARN")?;
        return list(&c, sm, o.limit, o.json).await;
    }
    let target = o.target.as_deref().unwrap_or_default();
    let arn = execution_arn(&c, target, o.state_machine_arn.as_deref()).await?;
    let mut cache = ProgressCache::default();
    let tty = std::io::stdout().is_terminal();
    loop {
        let status = read(&c, &arn, &mut cache).await?;
        if o.json {
            println!(
                "{}",
                serde_json::to_string(&status).map_err(|e| e.to_string())?
            );
        } else {
            if o.watch.is_some() && tty {
                print!("\x1b[2J\x1b[H"); // a fresh screen for each refresh
            }
            print!("{}", render(&status, now()));
        }
        match o.watch {
            Some(secs) if !status.ended() => {
                if !o.json && !tty {
                    println!();
                }
                tokio::time::sleep(Duration::from_secs(secs)).await;
            }
            _ => {
                let fine = !status.ended()
                    || matches!(status.outcome, Some(Outcome::Completed | Outcome::Planned));
                return Ok(if fine { 0 } else { 1 });
            }
        }
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn sdk_error(what: &str, e: &impl ProvideErrorMetadata) -> String {
    format!("{what}: {}", e.message().or(e.code()).unwrap_or("failed"))
}

/// The execution the argument names.
async fn execution_arn(c: &Clients, target: &str, sm: Option<&str>) -> Result<String, String> {
    if target.starts_with("arn:") {
        return Ok(target.to_string());
    }
    let need_sm = || {
        sm.ok_or(
            "a name or a request file needs --state-machine-arn or ERASURE_STATE_MACHINE_ARN"
                .to_string(),
        )
    };
    let name = if target.ends_with(".json") {
        // A receipt: its execution.
        let v: serde_json::Value = match target.strip_prefix("s3://") {
            Some(path) => {
                let (bucket, key) = path
                    .split_once('/')
                    .ok_or(format!("{target}: expected s3://BUCKET/KEY"))?;
                get_json(&c.s3, bucket, key)
                    .await?
                    .ok_or(format!("{target}: no such receipt"))?
            }
            None => {
                let bytes = std::fs::read(target).map_err(|e| format!("{target}: {e}"))?;
                serde_json::from_slice(&bytes).map_err(|e| format!("{target}: {e}"))?
            }
        };
        v.get("executionName")
            .and_then(|n| n.as_str())
            .ok_or(format!("{target}: not a receipt (no executionName)"))?
            .to_string()
    } else if let Some(path) = target.strip_prefix("s3://") {
        // A request file: its latest upload names the execution.
        let (bucket, key) = path
            .split_once('/')
            .filter(|(b, k)| !b.is_empty() && !k.is_empty())
            .ok_or(format!("{target}: expected s3://BUCKET/KEY"))?;
        let out =
            c.s3.list_object_versions()
                .bucket(bucket)
                .prefix(key)
                .send()
                .await
                .map_err(|e| sdk_error(target, &e))?;
        match out
            .versions()
            .iter()
            .find(|v| v.key() == Some(key) && v.is_latest() == Some(true))
        {
            Some(latest) => RequestId::for_upload(
                bucket,
                key,
                latest.e_tag().unwrap_or_default(),
                latest.version_id(),
            )
            .execution_name(),
            // Purged once its request ended: the most recent execution whose input names it.
            None => by_input(c, need_sm()?, bucket, key).await?.ok_or(format!(
                "{target}: no such request file, and none of the last {RECENT} executions read it"
            ))?,
        }
    } else {
        target.to_string()
    };
    let sm = need_sm()?;
    Ok(format!(
        "{}:{name}",
        sm.replacen(":stateMachine:", ":execution:", 1)
    ))
}

/// Executions searched for a request file that is gone.
const RECENT: i32 = 100;

/// The most recent of the last [`RECENT`] executions whose input names `bucket`/`key`.
async fn by_input(
    c: &Clients,
    sm: &str,
    bucket: &str,
    key: &str,
) -> Result<Option<String>, String> {
    let out = c
        .sfn
        .list_executions()
        .state_machine_arn(sm)
        .max_results(RECENT)
        .send()
        .await
        .map_err(|e| sdk_error("ListExecutions", &e))?;
    for e in out.executions() {
        let d = c
            .sfn
            .describe_execution()
            .execution_arn(e.execution_arn())
            .send()
            .await
            .map_err(|e| sdk_error("DescribeExecution", &e))?;
        let input: Option<ExecutionInput> = d.input().and_then(|i| serde_json::from_str(i).ok());
        if input.is_some_and(|i| i.request.bucket == bucket && i.request.key == key) {
            return Ok(Some(e.name().to_string()));
        }
    }
    Ok(None)
}

/// Progress objects read earlier, by ETag: a finished shard's is not read again.
#[derive(Default)]
struct ProgressCache {
    seen: HashMap<u32, (String, ShardProgress, Option<i64>)>,
}

async fn get_json<T: serde::de::DeserializeOwned>(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<T>, String> {
    match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => {
            let bytes = out
                .body
                .collect()
                .await
                .map_err(|e| format!("s3://{bucket}/{key}: {e}"))?
                .into_bytes();
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| format!("s3://{bucket}/{key}: unreadable: {e}"))
        }
        Err(e) if e.code() == Some("NoSuchKey") => Ok(None),
        Err(e) => Err(sdk_error(&format!("s3://{bucket}/{key}"), &e)),
    }
}

fn epoch(t: Option<&aws_sdk_sfn::primitives::DateTime>) -> Option<i64> {
    t.map(|t| t.secs())
}

fn event_of(e: &HistoryEvent) -> Event {
    let entered = e.state_entered_event_details();
    let exited = e.state_exited_event_details();
    Event {
        kind: e.r#type().as_str().to_string(),
        at: e.timestamp().secs(),
        state: entered
            .map(|d| d.name().to_string())
            .or(exited.map(|d| d.name().to_string())),
        output: exited.and_then(|d| d.output().map(str::to_string)),
    }
}

/// Reads everything about the execution and puts it together.
async fn read(c: &Clients, arn: &str, cache: &mut ProgressCache) -> Result<Status, String> {
    let d = c
        .sfn
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .map_err(|e| sdk_error(&format!("execution {arn}"), &e))?;
    let input: Option<ExecutionInput> = d.input().and_then(|i| serde_json::from_str(i).ok());
    let execution = Execution {
        name: d.name().unwrap_or_default().to_string(),
        arn: arn.to_string(),
        status: d.status().as_str().to_string(),
        started: d.start_date().secs(),
        stopped: epoch(d.stop_date()),
    };
    let mut events = Vec::new();
    let mut pages = c
        .sfn
        .get_execution_history()
        .execution_arn(arn)
        .max_results(1000)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("GetExecutionHistory", &e))?;
        events.extend(page.events().iter().map(event_of));
    }
    let mut src = Sources {
        now: now(),
        ..Default::default()
    };
    let prepared: Option<Prepared> = status::prepared(&events);
    let request = prepared
        .as_ref()
        .map(|p| p.request.clone())
        .or(input.map(|i| i.request));
    if let Some(req) = &request {
        let bucket = req.bucket.as_str();
        let id = &req.request_id;
        let entered = |s: &str| events.iter().any(|e| e.state.as_deref() == Some(s));
        if entered("Shards") {
            src.shards = get_json(&c.s3, bucket, &id.manifest_key(WORK_PREFIX)).await?;
            if let Some(shards) = &src.shards {
                src.progress = progress(c, bucket, id, shards, cache).await?;
            }
        }
        if entered("DeletionJobs") {
            let specs: Option<Vec<JobSpec>> =
                get_json(&c.s3, bucket, &id.job_manifest_key(WORK_PREFIX)).await?;
            src.jobs = jobs(c, specs.unwrap_or_default()).await?;
        }
        if entered("CheckDatasetGroups") || entered("RetrainModels") {
            src.models =
                get_json::<ModelsRecord>(&c.s3, bucket, &id.models_key(WORK_PREFIX)).await?;
        }
        if let Some(sha) = req.sha256.as_deref() {
            src.open =
                get_json::<OpenRequest>(&c.s3, bucket, &open_requests::key(RECEIPT_PREFIX, sha))
                    .await?;
        }
        if execution.status != "RUNNING" {
            let key = id.receipt_key_for(RECEIPT_PREFIX, &execution.name);
            src.receipt = get_json::<Receipt>(&c.s3, bucket, &key)
                .await?
                .map(|r| (Box::new(r), format!("s3://{bucket}/{key}")));
        }
    }
    src.execution = Some(execution);
    src.events = events;
    status::summarize(&src).ok_or_else(|| "nothing to show".to_string())
}

/// One progress object read: (shard index, ETag, progress, last modified).
type Fetched = (u32, String, ShardProgress, Option<i64>);

/// Every shard's progress object, 16 reads at a time; a shard recorded complete earlier is not
/// read again, nor is one whose object did not change (If-None-Match).
async fn progress(
    c: &Clients,
    bucket: &str,
    id: &RequestId,
    shards: &[ShardSpec],
    cache: &mut ProgressCache,
) -> Result<Vec<(u32, ShardProgress, Option<i64>)>, String> {
    let wanted: Vec<(u32, Option<String>)> = shards
        .iter()
        .filter(|s| !cache.seen.get(&s.index).is_some_and(|(_, p, _)| p.complete))
        .map(|s| (s.index, cache.seen.get(&s.index).map(|(e, _, _)| e.clone())))
        .collect();
    let fetched: Vec<Option<Fetched>> = futures::stream::iter(wanted)
        .map(|(index, etag)| async move {
            let key = id.shard_progress_key(WORK_PREFIX, index);
            let mut get = c.s3.get_object().bucket(bucket).key(&key);
            if let Some(e) = etag {
                get = get.if_none_match(e);
            }
            match get.send().await {
                Ok(out) => {
                    let etag = out.e_tag().unwrap_or_default().to_string();
                    let modified = out.last_modified().map(|t| t.secs());
                    let bytes = out
                        .body
                        .collect()
                        .await
                        .map_err(|e| format!("{key}: {e}"))?
                        .into_bytes();
                    let p: ShardProgress = serde_json::from_slice(&bytes)
                        .map_err(|e| format!("{key}: unreadable: {e}"))?;
                    Ok(Some((index, etag, p, modified)))
                }
                Err(e) if e.code() == Some("NoSuchKey") => Ok(None),
                // Not modified since the last read: GetObject answers 304 Not Modified to an
                // If-None-Match that matches the ETag (Amazon S3 API reference, GetObject).
                Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 304) => Ok(None),
                Err(e) => Err(sdk_error(&key, &e)),
            }
        })
        .buffer_unordered(16)
        .try_collect()
        .await?;
    for (index, etag, p, modified) in fetched.into_iter().flatten() {
        cache.seen.insert(index, (etag, p, modified));
    }
    let mut out: Vec<(u32, ShardProgress, Option<i64>)> = cache
        .seen
        .iter()
        .map(|(i, (_, p, m))| (*i, p.clone(), *m))
        .collect();
    out.sort_by_key(|(i, _, _)| *i);
    Ok(out)
}

/// Each job of the manifest, as Personalize describes it.
async fn jobs(c: &Clients, specs: Vec<JobSpec>) -> Result<Vec<JobSeen>, String> {
    let mut by_group: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut out = Vec::new();
    for spec in specs {
        if !by_group.contains_key(&spec.dataset_group_arn) {
            let names = c
                .jobs
                .by_name(&spec.dataset_group_arn)
                .await
                .map_err(|e| format!("ListDataDeletionJobs: {e}"))?;
            by_group.insert(spec.dataset_group_arn.clone(), names);
        }
        let name = spec.request_id.job_name(&spec.dataset_group_arn, spec.part);
        let arn = by_group
            .get(&spec.dataset_group_arn)
            .and_then(|m| m.get(&name));
        let described = match arn {
            Some(arn) => Some(
                c.jobs
                    .describe(arn)
                    .await
                    .map_err(|e| format!("DescribeDataDeletionJob: {e}"))?,
            ),
            None => None,
        };
        out.push(JobSeen {
            name,
            state: described.as_ref().map(|d| d.state),
            created: described.as_ref().and_then(|d| d.created_epoch),
            num_deleted: described.as_ref().and_then(|d| d.num_deleted),
            spec,
        });
    }
    Ok(out)
}

/// A bar of `done` of `total`, drawn by indicatif into a one-line in-memory terminal.
fn bar(done: u64, total: u64, message: String) -> String {
    // One row, wide enough that a long message never wraps (a wrapped line would leave the
    // row's last line only).
    let term = InMemoryTerm::new(1, 1000);
    let pb = ProgressBar::with_draw_target(
        Some(total.max(1)),
        ProgressDrawTarget::term_like(Box::new(term.clone())),
    );
    let style = ProgressStyle::with_template("  [{bar:30}] {msg}")
        .map(|s| s.progress_chars("#>-"))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    pb.set_style(style);
    pb.set_message(message);
    pb.set_position(done.min(total.max(1)));
    pb.abandon();
    term.contents().trim_end().to_string()
}

fn clock(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d {:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// The status as a person reads it.
pub fn render(s: &Status, now: i64) -> String {
    let mut out = String::new();
    let mut line = |l: String| {
        out.push_str(&l);
        out.push('\n');
    };
    let ran = s.stopped_at.unwrap_or(now) - s.started_at;
    let outcome = s
        .outcome
        .map_or(String::new(), |o| format!(", outcome {}", o.as_str()));
    line(format!(
        "{}  {}{outcome}, {} {} (started {})",
        s.execution_name,
        s.status,
        if s.ended() { "ran" } else { "running for" },
        duration(ran),
        clock(s.started_at)
    ));
    let mut facts = Vec::new();
    if let Some(u) = s.users {
        facts.push(format!("{u} users"));
    }
    if s.mode.as_deref() == Some("PLAN") {
        facts.push("a preview: nothing is deleted".into());
    }
    if let Some(r) = &s.received_at {
        facts.push(format!("received {r}"));
    }
    if let Some(r) = &s.respond_by {
        let left = match s.days_left {
            Some(d) if d >= 0 => format!(", {d} days left"),
            Some(d) => format!(", {} days past", -d),
            None => String::new(), // answered: off the clock
        };
        facts.push(format!("respond by {} ({}{left})", r.due, r.regime));
    }
    if !facts.is_empty() {
        line(format!("request: {}", facts.join(" · ")));
    }
    for g in &s.personalize {
        line(format!(
            "Personalize dataset group {}",
            status::short(&g.dataset_group_arn)
        ));
        line(bar(
            g.jobs_ended,
            g.jobs_total,
            format!("{}/{} deletion jobs ended", g.jobs_ended, g.jobs_total),
        ));
        for j in &g.jobs {
            let deleted = j
                .records_deleted
                .map_or(String::new(), |n| format!(", {n} records deleted"));
            line(format!(
                "    {} part {} ({} users): {}{deleted}",
                j.name, j.part, j.users, j.state
            ));
        }
        for (solution, st) in &g.retraining {
            line(format!(
                "    retraining solution {}: {st}",
                status::short(solution)
            ));
        }
    }
    for t in &s.targets {
        let rate = t
            .users_per_second
            .map_or(String::new(), |r| format!(", {r:.1} users/s"));
        let eta = t.eta_seconds.map_or(String::new(), |e| {
            format!(", about {} left", duration(e as i64))
        });
        line(format!("{} {}", status::target_label(t.kind), t.id));
        line(bar(
            t.done,
            t.total,
            format!(
                "{}/{} users{rate}{eta}; {} {} deleted, {} without, {} failed",
                t.done,
                t.total,
                t.items_deleted,
                t.kind.items(),
                t.users_without_items,
                t.failed
            ),
        ));
    }
    if let Some((done, total)) = s.shards {
        if !s.targets.is_empty() || total > 0 {
            line(format!("shards finished: {done} of {total}"));
        }
    }
    for p in &s.pacing {
        line(format!(
            "pacing {}: {:.1}/s allowed ({:.1}/s quota less the headroom), paced at {:.1}/s, {} throttled",
            p.api, p.configured, p.account_rate, p.current, p.throttled
        ));
    }
    if !s.waiting_for.is_empty() {
        line("waiting for:".into());
        for w in &s.waiting_for {
            line(format!("  - {w}"));
        }
    }
    if let Some(r) = &s.receipt {
        line(format!("receipt: {r} (erasure receipt {r})"));
    }
    out
}

/// `--list`.
async fn list(c: &Clients, sm: &str, limit: i32, json: bool) -> Result<u8, String> {
    let out = c
        .sfn
        .list_executions()
        .state_machine_arn(sm)
        .max_results(limit)
        .send()
        .await
        .map_err(|e| sdk_error("ListExecutions", &e))?;
    let executions: Vec<Execution> = out
        .executions()
        .iter()
        .map(|e| Execution {
            name: e.name().to_string(),
            arn: e.execution_arn().to_string(),
            status: e.status().as_str().to_string(),
            started: e.start_date().secs(),
            stopped: epoch(e.stop_date()),
        })
        .collect();
    // The bucket: from one execution's input (every execution of the stack uses the same).
    let mut bucket = None;
    if let Some(e) = executions.first() {
        let d = c
            .sfn
            .describe_execution()
            .execution_arn(&e.arn)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeExecution", &e))?;
        bucket = d
            .input()
            .and_then(|i| serde_json::from_str::<ExecutionInput>(i).ok())
            .map(|i| i.request.bucket);
    }
    let mut outcomes = Vec::new();
    let mut open = Vec::new();
    if let Some(bucket) = &bucket {
        for e in executions.iter().filter(|e| e.status != "RUNNING") {
            let Some(id) = e
                .name
                .strip_prefix("erasure-")
                .and_then(|r| RequestId::parse(r.get(..32)?))
            else {
                continue;
            };
            let key = id.receipt_key_for(RECEIPT_PREFIX, &e.name);
            let receipt: Option<serde_json::Value> = get_json(&c.s3, bucket, &key).await?;
            if let Some(o) = receipt
                .and_then(|r| serde_json::from_value::<Outcome>(r.get("outcome")?.clone()).ok())
            {
                outcomes.push((e.name.clone(), o));
            }
        }
        let mut token = None;
        loop {
            let page =
                c.s3.list_objects_v2()
                    .bucket(bucket)
                    .prefix(open_requests::folder(RECEIPT_PREFIX))
                    .set_continuation_token(token)
                    .send()
                    .await
                    .map_err(|e| sdk_error("ListObjectsV2", &e))?;
            for o in page.contents() {
                if let Some(k) = o.key() {
                    if let Some(r) = get_json::<OpenRequest>(&c.s3, bucket, k).await? {
                        open.push(r);
                    }
                }
            }
            token = page.next_continuation_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }
    let rows = status::list(&executions, &outcomes, &open, now());
    if json {
        println!(
            "{}",
            serde_json::to_string(&rows).map_err(|e| e.to_string())?
        );
        return Ok(0);
    }
    println!(
        "{:<60} {:<10} {:<9} {:>8} {:<10} {:>9}",
        "EXECUTION", "STATUS", "OUTCOME", "AGE", "DUE", "DAYS LEFT"
    );
    for r in &rows {
        let outcome = r.outcome.map_or("-", Outcome::as_str);
        println!(
            "{:<60} {:<10} {:<9} {:>8} {:<10} {:>9}",
            r.execution_name,
            r.status,
            outcome,
            duration(r.age_seconds),
            r.due.as_deref().unwrap_or("-"),
            r.days_left.map_or("-".to_string(), |d| d.to_string())
        );
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_is_drawn_by_indicatif_with_its_counts() {
        let b = bar(412, 3200, "412/3200 users".into());
        assert!(b.starts_with("  [###"), "{b:?}");
        assert!(b.ends_with("] 412/3200 users"), "{b:?}");
        assert_eq!(b.matches('#').count(), 3, "{b:?}"); // 412/3200 of 30 cells, the head '>'
    }

    #[test]
    fn a_long_message_stays_on_the_bars_line() {
        let message = format!(
            "200/2000 users, 6.9 users/s, about 4m 20s left; {}",
            "x".repeat(300)
        );
        let b = bar(200, 2000, message.clone());
        assert!(b.starts_with("  [###") && b.ends_with(&message), "{b:?}");
    }

    #[test]
    fn a_running_request_reads_with_its_bar_rate_time_left_and_what_it_waits_for() {
        let s = Status {
            execution_name: "erasure-x".into(),
            execution_arn: "arn:x".into(),
            status: "RUNNING".into(),
            started_at: 1_800_000_000,
            stopped_at: None,
            mode: Some("ERASE".into()),
            users: Some(2000),
            received_at: Some("2027-01-15T07:59:00Z".into()),
            respond_by: None,
            days_left: None,
            running_states: vec!["Erase".into(), "Shards".into()],
            waiting_for: vec!["Pinpoint application app: 500 of 2000 users handled".into()],
            targets: vec![erasure::status::TargetStatus {
                kind: erasure::payload::TargetKind::Pinpoint,
                id: "app".into(),
                done: 500,
                total: 2000,
                items_deleted: 750,
                users_without_items: 0,
                failed: 0,
                users_per_second: Some(16.7),
                eta_seconds: Some(90),
            }],
            pacing: Vec::new(),
            shards: Some((2, 8)),
            personalize: Vec::new(),
            outcome: None,
            receipt: None,
        };
        let text = render(&s, 1_800_000_030);
        assert!(
            text.starts_with("erasure-x  RUNNING, running for 30s"),
            "{text}"
        );
        assert!(
            text.contains("] 500/2000 users, 16.7 users/s, about 1m 30s left; 750 endpoints deleted, 0 without, 0 failed\n"),
            "{text}"
        );
        assert!(text.contains("  [#######>"), "a quarter of the bar: {text}");
        assert!(text.contains("shards finished: 2 of 8\n"));
        assert!(
            text.ends_with(
                "waiting for:\n  - Pinpoint application app: 500 of 2000 users handled\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn durations_read_as_a_person_says_them() {
        assert_eq!(duration(42), "42s");
        assert_eq!(duration(227), "3m 47s");
        assert_eq!(duration(7260), "2h 01m");
        assert_eq!(duration(90_000), "1d 01h");
    }

    #[test]
    fn the_arguments_need_one_request_or_the_list() {
        let a = |v: &[&str]| parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert!(a(&[]).is_err());
        assert!(a(&["--list", "erasure-x"]).is_err());
        let o = a(&["erasure-x", "--watch", "--format", "json"]).expect("parsed");
        assert_eq!((o.watch, o.json), (Some(10), true));
        let o = a(&["--list", "--limit", "5"]).expect("parsed");
        assert_eq!((o.list, o.limit), (true, 5));
        assert!(a(&["--list", "--limit", "0"]).is_err());
    }
}
