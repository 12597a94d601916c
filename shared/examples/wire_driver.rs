//! Drives every Personalize and Pinpoint operation the local emulation serves through the real
//! Rust SDK, so that the emulation's wire checks (tests/emulation/wire.py) see what the SDK the
//! product is built on sends, and the SDK parses every answer the emulation gives: success
//! paths, NotFound, AlreadyExists, InvalidNextToken and pagination.
//!
//! ```text
//! AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
//!     cargo run --quiet -p erasure-shared --example wire_driver -- http://127.0.0.1:PORT PREFIX
//! ```
//! PREFIX names what it creates (dataset group, job, application, endpoints, user). Prints one
//! line per call: `<Service>.<Operation> ok`, `... error <code>` (a service error, by its code)
//! or `... failure <kind>` (no service answer, or one the SDK could not read). Never an ID.

use aws_sdk_personalize::error::{ProvideErrorMetadata, SdkError};

/// One call's outcome as printed: "ok", "error <code>" or "failure <kind>".
fn outcome<T, E: ProvideErrorMetadata, R>(result: &Result<T, SdkError<E, R>>) -> String {
    match result {
        Ok(_) => "ok".to_string(),
        Err(SdkError::ServiceError(e)) => {
            format!("error {}", e.err().code().unwrap_or("(no code)"))
        }
        Err(SdkError::ResponseError(_)) => "failure unreadable-response".to_string(),
        Err(SdkError::DispatchFailure(_)) => "failure dispatch".to_string(),
        Err(SdkError::TimeoutError(_)) => "failure timeout".to_string(),
        Err(SdkError::ConstructionFailure(_)) => "failure construction".to_string(),
        Err(_) => "failure other".to_string(),
    }
}

/// Sends a call, prints its outcome under `name`, and hands the result back.
macro_rules! call {
    ($name:expr, $request:expr) => {{
        let result = $request.send().await;
        println!("{} {}", $name, outcome(&result));
        result
    }};
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoint, prefix] = args.as_slice() else {
        eprintln!("usage: wire_driver ENDPOINT_URL PREFIX");
        std::process::exit(2);
    };
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .load()
        .await;
    personalize(&aws_sdk_personalize::Client::new(&conf), prefix).await?;
    pinpoint(&aws_sdk_pinpoint::Client::new(&conf), prefix).await?;
    Ok(())
}

async fn personalize(
    client: &aws_sdk_personalize::Client,
    prefix: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    use aws_sdk_personalize::types::{DataSource, Tag};

    let group_name = format!("{prefix}-dsg");
    let group = call!(
        "Personalize.CreateDatasetGroup",
        client.create_dataset_group().name(&group_name)
    )?;
    let group = group
        .dataset_group_arn()
        .ok_or("CreateDatasetGroup returned no ARN")?
        .to_string();
    call!(
        "Personalize.CreateDatasetGroup",
        client.create_dataset_group().name(&group_name)
    )
    .ok();
    call!(
        "Personalize.DescribeDatasetGroup",
        client.describe_dataset_group().dataset_group_arn(&group)
    )?;
    call!(
        "Personalize.DescribeDatasetGroup",
        client
            .describe_dataset_group()
            .dataset_group_arn(format!("{group}-missing"))
    )
    .ok();
    call!(
        "Personalize.CreateDatasetGroup",
        client.create_dataset_group().name(format!("{prefix}-dsg2"))
    )?;
    let mut token = None;
    loop {
        let page = call!(
            "Personalize.ListDatasetGroups",
            client
                .list_dataset_groups()
                .max_results(1)
                .set_next_token(token.take())
        )?;
        match page.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }

    let tag = Tag::builder()
        .tag_key("erasure-request")
        .tag_value("wire-driver")
        .build()?;
    let create_job = || {
        client
            .create_data_deletion_job()
            .job_name(format!("{prefix}-job"))
            .dataset_group_arn(&group)
            .data_source(
                DataSource::builder()
                    .data_location("s3://erasure-requests/work/wire/personalize/users.csv")
                    .build(),
            )
            .role_arn("arn:aws:iam::123456789012:role/personalize-deletion")
            .tags(tag.clone())
    };
    let job = call!("Personalize.CreateDataDeletionJob", create_job())?;
    let job = job
        .data_deletion_job_arn()
        .ok_or("CreateDataDeletionJob returned no ARN")?
        .to_string();
    call!("Personalize.CreateDataDeletionJob", create_job()).ok();
    call!(
        "Personalize.DescribeDataDeletionJob",
        client
            .describe_data_deletion_job()
            .data_deletion_job_arn(&job)
    )?;
    call!(
        "Personalize.DescribeDataDeletionJob",
        client
            .describe_data_deletion_job()
            .data_deletion_job_arn(format!("{job}-missing"))
    )
    .ok();
    call!(
        "Personalize.ListDataDeletionJobs",
        client
            .list_data_deletion_jobs()
            .dataset_group_arn(&group)
            .max_results(1)
    )?;
    call!(
        "Personalize.ListDataDeletionJobs",
        client.list_data_deletion_jobs().next_token("not-a-token")
    )
    .ok();
    Ok(())
}

async fn pinpoint(
    client: &aws_sdk_pinpoint::Client,
    prefix: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    use aws_sdk_pinpoint::types::{
        ChannelType, CreateApplicationRequest, EndpointRequest, EndpointUser,
    };

    let app = call!(
        "Pinpoint.CreateApp",
        client.create_app().create_application_request(
            CreateApplicationRequest::builder()
                .name(format!("{prefix}-app"))
                .tags("purpose", "wire")
                .build()
        )
    )?;
    let app = app
        .application_response()
        .and_then(|a| a.id())
        .ok_or("CreateApp returned no Id")?
        .to_string();
    let mut token = None;
    loop {
        let page = call!(
            "Pinpoint.GetApps",
            client.get_apps().page_size("1").set_token(token.take())
        )?;
        match page.applications_response().and_then(|r| r.next_token()) {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    call!("Pinpoint.GetApp", client.get_app().application_id(&app))?;
    call!(
        "Pinpoint.GetApp",
        client.get_app().application_id(format!("{app}0"))
    )
    .ok();

    let user = format!("{prefix}-user/α β");
    let endpoint = |id: &str| {
        client
            .update_endpoint()
            .application_id(&app)
            .endpoint_id(format!("{prefix}-{id}"))
            .endpoint_request(
                EndpointRequest::builder()
                    .channel_type(ChannelType::Email)
                    .address("someone@example.invalid")
                    .user(EndpointUser::builder().user_id(&user).build())
                    .build(),
            )
    };
    call!("Pinpoint.UpdateEndpoint", endpoint("e1"))?;
    call!("Pinpoint.UpdateEndpoint", endpoint("e2"))?;
    call!(
        "Pinpoint.GetEndpoint",
        client
            .get_endpoint()
            .application_id(&app)
            .endpoint_id(format!("{prefix}-e1"))
    )?;
    call!(
        "Pinpoint.GetEndpoint",
        client
            .get_endpoint()
            .application_id(&app)
            .endpoint_id(format!("{prefix}-none"))
    )
    .ok();
    call!(
        "Pinpoint.GetUserEndpoints",
        client
            .get_user_endpoints()
            .application_id(&app)
            .user_id(&user)
    )?;
    call!(
        "Pinpoint.DeleteEndpoint",
        client
            .delete_endpoint()
            .application_id(&app)
            .endpoint_id(format!("{prefix}-e1"))
    )?;
    call!(
        "Pinpoint.DeleteUserEndpoints",
        client
            .delete_user_endpoints()
            .application_id(&app)
            .user_id(&user)
    )?;
    call!(
        "Pinpoint.DeleteUserEndpoints",
        client
            .delete_user_endpoints()
            .application_id(&app)
            .user_id(&user)
    )
    .ok();
    call!(
        "Pinpoint.DeleteApp",
        client.delete_app().application_id(&app)
    )?;
    call!(
        "Pinpoint.DeleteApp",
        client.delete_app().application_id(&app)
    )
    .ok();
    Ok(())
}
