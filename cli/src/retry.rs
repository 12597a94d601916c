//! `erasure retry`: starts a request that did not complete again, from its receipt. The new
//! execution gets the original's input under a new name (`erasure-<request id>-retry-N`): it
//! finds each Personalize job by its name, skips the users each shard's progress object records
//! as done, tries again those recorded as failed, and writes its own receipt.
//!
//! Step Functions' RedriveExecution cannot do this for this workflow: every error is caught and
//! the finalize step writes the receipt before the execution fails, so a redrive would only
//! re-enter the final Fail state.

use aws_sdk_sfn::error::ProvideErrorMetadata;
use erasure::naming::RequestId;
use erasure::payload::{ExecutionInput, Mode, OrderedBy, RequestObject, Uploader};

pub const USAGE: &str = "usage: erasure retry --receipt RECEIPT.json|s3://BUCKET/receipts/NAME.json [--state-machine-arn ARN]

Starts the request of a PARTIAL, FAILED or ABORTED receipt again, under the name
erasure-<request id>-retry-N: users already erased are not asked again, users recorded as
failed are tried again, each deletion job is found again by its name. Prints the new
execution's name and where its receipt will be. The state machine comes from
--state-machine-arn or ERASURE_STATE_MACHINE_ARN (the stack's StateMachineArn output); the
credentials and Region from the usual AWS chain. Exit code 0: started; 1: the receipt's
request is not one to retry (COMPLETED, or REJECTED: fix the file and upload it again);
2: usage, I/O or AWS error.";

/// The most retries of one request this command names.
const MAX_RETRIES: u32 = 99;

struct Options {
    receipt: String,
    state_machine_arn: String,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut receipt = None;
    let mut arn = std::env::var("ERASURE_STATE_MACHINE_ARN").ok();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v = it
            .next()
            .cloned()
            .ok_or_else(|| format!("{a} needs a value"))?;
        match a.as_str() {
            "--receipt" => receipt = Some(v),
            "--state-machine-arn" => arn = Some(v),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok(Options {
        receipt: receipt.ok_or("retry needs --receipt")?,
        state_machine_arn: arn.filter(|a| !a.is_empty()).ok_or(
            "retry needs --state-machine-arn or ERASURE_STATE_MACHINE_ARN (the stack's StateMachineArn output)",
        )?,
    })
}

/// What the retry needs of a receipt (any schema version that has these fields).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReceiptFacts {
    request_id: String,
    outcome: String,
    request: RequestFacts,
    #[serde(default)]
    ordered_by: Option<OrderedBy>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestFacts {
    bucket: String,
    key: String,
    #[serde(default)]
    version_id: Option<String>,
    etag: String,
}

pub fn run(args: &[String]) -> u8 {
    if args.is_empty() || args.iter().any(|a| a == "-h" || a == "--help") {
        eprintln!("{USAGE}");
        return 2;
    }
    let opts = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("erasure retry: {e}\n\n{USAGE}");
            return 2;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("erasure retry: {e}");
            return 2;
        }
    };
    match runtime.block_on(retry(&opts)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("erasure retry: {e}");
            2
        }
    }
}

async fn retry(o: &Options) -> Result<u8, String> {
    let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let bytes = crate::receipt::read_with(&conf, &o.receipt).await?;
    let facts: ReceiptFacts = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{}: not an erasure receipt ({e})", o.receipt))?;
    match facts.outcome.as_str() {
        "COMPLETED" => {
            println!("The request completed: there is nothing to retry.");
            return Ok(1);
        }
        "PLANNED" => {
            println!(
                "This is a plan: nothing was erased and nothing is to retry. To erase these users, \
                 upload the same file under the request prefix (requests/ by default)."
            );
            return Ok(1);
        }
        "REJECTED" => {
            println!(
                "The request file was rejected and nothing was erased: fix the file (the receipt's \
                 reason says what is wrong) and upload it again."
            );
            return Ok(1);
        }
        _ => {}
    }
    let id = RequestId::parse(&facts.request_id)
        .ok_or_else(|| format!("{}: the receipt's request ID is malformed", o.receipt))?;
    let input = ExecutionInput {
        request: RequestObject {
            bucket: facts.request.bucket,
            key: facts.request.key,
            version_id: facts.request.version_id,
            etag: facts.request.etag,
            size: 0,
            request_id: id.clone(),
            sha256: None,
            mode: Mode::Erase,
            // The retry acts for whoever ordered the request: with named uploader roles, the
            // prepare step checks that uploader again.
            uploader: facts
                .ordered_by
                .filter(|b| !b.unique_id.is_empty())
                .map(|b| Uploader {
                    unique_id: b.unique_id,
                    kind: b.kind,
                    session_name: b.session_name,
                    uploaded_at: b.uploaded_at,
                }),
        },
        execution: None,
    };
    let body = serde_json::to_string(&input).map_err(|e| e.to_string())?;
    let sfn = aws_sdk_sfn::Client::new(&conf);
    for n in 1..=MAX_RETRIES {
        let name = format!("{}-retry-{n}", id.execution_name());
        match sfn
            .start_execution()
            .state_machine_arn(&o.state_machine_arn)
            .name(&name)
            .input(&body)
            .send()
            .await
        {
            Ok(out) => {
                println!("started execution {name}");
                println!("  {}", out.execution_arn());
                println!(
                    "  its receipt will be s3://{}/receipts/{name}.json; the earlier receipts stay",
                    input.request.bucket
                );
                return Ok(0);
            }
            Err(e) if e.code() == Some("ExecutionAlreadyExists") => continue,
            Err(e) => {
                return Err(format!(
                    "StartExecution {name}: {}",
                    e.message().or(e.code()).unwrap_or("failed")
                ))
            }
        }
    }
    Err(format!(
        "the request was already retried {MAX_RETRIES} times; start it by hand"
    ))
}
