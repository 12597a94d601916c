//! The report's sentences for every outcome, from the fixture receipts of tests/receipts (each
//! valid against shared/schema/receipt.v3.schema.json: tests/test_receipt_cli.py checks it).

use erasure::receipt::{Outcome, Receipt};

use super::exit_code;
use super::render::{html, html_escape, markdown, md_escape, text};
use super::report::{count, date, hours, list, num, Report};
use super::source::receipt_uri;

fn fixture(name: &str) -> Receipt {
    let json = match name {
        "completed" => include_str!("../../../tests/receipts/completed.json"),
        "partial" => include_str!("../../../tests/receipts/partial.json"),
        "failed" => include_str!("../../../tests/receipts/failed.json"),
        "aborted" => include_str!("../../../tests/receipts/aborted.json"),
        "rejected" => include_str!("../../../tests/receipts/rejected.json"),
        "planned" => include_str!("../../../tests/receipts/planned.json"),
        other => panic!("no fixture {other}"),
    };
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn report(r: &Receipt) -> Report {
    Report::of(r, &receipt_uri("local.json", r))
}

fn paragraph(r: &Receipt) -> String {
    report(r).summary.join(" ")
}

#[test]
fn numbers_get_thousands_separators() {
    assert_eq!(num(0), "0");
    assert_eq!(num(999), "999");
    assert_eq!(num(1000), "1,000");
    assert_eq!(num(1500), "1,500");
    assert_eq!(num(1_234_567), "1,234,567");
    assert_eq!(num(u64::MAX), "18,446,744,073,709,551,615");
    assert_eq!(count(1, "user", "users"), "1 user");
    assert_eq!(count(0, "user", "users"), "0 users");
    assert_eq!(count(12_000, "record", "records"), "12,000 records");
    assert_eq!(list(&[]), "");
    assert_eq!(list(&["a".into()]), "a");
    assert_eq!(list(&["a".into(), "b".into()]), "a and b");
    assert_eq!(list(&["a".into(), "b".into(), "c".into()]), "a, b and c");
    assert_eq!(date("2026-12-01T14:02:11Z"), "2026-12-01");
    assert_eq!(date("yesterday"), "yesterday");
    assert_eq!(hours(1.5), "1.5");
    assert_eq!(hours(3.75), "3.75");
    assert_eq!(hours(2.0), "2");
}

#[test]
fn a_completed_receipt_reads_as_one_paragraph() {
    let r = fixture("completed");
    let rep = report(&r);
    assert_eq!(
        rep.summary[0],
        "500 users were erased on 2026-12-01 from 1 Personalize dataset group (1,500 records; \
         models retrained at 12:02 UTC) and 1 Pinpoint application (998 endpoints; 1 user had none)."
    );
    assert_eq!(rep.summary[1], "Nothing failed.");
    assert_eq!(
        rep.summary[2],
        "The request file was requests/march.csv (502 rows, 2 duplicates)."
    );
    assert!(rep.summary[3].starts_with(
        "Ordered by role arn:aws:iam::123456789012:role/privacy/privacy-officers (RoleId AROAEXAMPLEROLEID1234), uploaded at 2026-12-01T10:00:00.000Z"
    ));
    assert_eq!(
        rep.summary[4],
        "It was previewed first: the plan receipts/erasure-9a0e1b2c3d4e5f6a7b8c9d0e1f2a3b4c.json of 2026-11-30T09:41:07Z."
    );
    assert_eq!(
        rep.summary[5],
        "Received 2026-12-01; under GDPR it must be answered by 2027-01-01 (extendable to 2027-03-01)."
    );
    assert!(
        rep.next.is_none(),
        "nothing to do after a COMPLETED erasure"
    );
    assert_eq!(
        rep.notes[0],
        "The uploaded request file was deleted afterwards, with 6 work objects."
    );
    let ids: Vec<&str> = rep.tables.iter().map(|t| t.id).collect();
    assert_eq!(ids, ["personalize", "personalizeModels", "pinpoint"]);
    assert_eq!(exit_code(r.outcome), 0);
}

#[test]
fn one_of_everything_is_singular() {
    let mut r = fixture("completed");
    r.request.valid_users = 1;
    r.request.rows = 1;
    r.request.duplicates = 0;
    r.personalize[0].num_deleted = Some(1);
    r.pinpoint[0].endpoints_deleted = 1;
    r.pinpoint[0].users_without_endpoints = 0;
    let rep = report(&r);
    assert_eq!(
        rep.summary[0],
        "1 user was erased on 2026-12-01 from 1 Personalize dataset group (1 record; models \
         retrained at 12:02 UTC) and 1 Pinpoint application (1 endpoint)."
    );
    assert_eq!(
        rep.summary[2],
        "The request file was requests/march.csv (1 row)."
    );
}

#[test]
fn many_of_everything_is_plural_with_separators() {
    let mut r = fixture("completed");
    r.request.valid_users = 1_234_567;
    let mut second = r.personalize[0].clone();
    second.dataset_group_arn = "arn:aws:personalize:eu-west-1:123456789012:dataset-group/b".into();
    second.num_deleted = Some(1_000_000);
    r.personalize.push(second);
    let mut models = r.personalize_models[0].clone();
    models.status = erasure::receipt::models::ModelsStatus::NotRetrained;
    r.personalize_models.push(models);
    let mut app = r.pinpoint[0].clone();
    app.application_id = "other".into();
    app.users_without_endpoints = 2;
    r.pinpoint.push(app);
    let s = paragraph(&r);
    assert!(
        s.starts_with(
            "1,234,567 users were erased on 2026-12-01 from 2 Personalize dataset groups \
             (1,001,500 records; models retrained in 1 group, models not retrained as \
             configured in 1 group) and 2 Pinpoint applications (1,996 endpoints; 3 users \
             had none)."
        ),
        "{s}"
    );
}

#[test]
fn a_partial_receipt_says_what_failed_and_how_to_retry() {
    let r = fixture("partial");
    let rep = report(&r);
    assert_eq!(
        rep.summary[0],
        "1,234 users were to be erased on 2026-12-02; the erasure was only partly done (PARTIAL)."
    );
    assert_eq!(
        rep.summary[1],
        "Erased from 1 Personalize dataset group (3,910 records; models not retrained as \
         configured), 1 Pinpoint application (2,401 endpoints; 20 users had none; 3 users \
         failed) and 1 Customer Profiles domain (1,300 profiles; 1 user had none)."
    );
    let next = rep.next.expect("a next step");
    assert_eq!(
        next.problems,
        ["3 users could not be erased from Pinpoint application 4b9c2e7f1a3d4c5b8e6f7a9b0c1d2e3f (access denied)."]
    );
    assert_eq!(next.advice, "Fix the access, then run:");
    assert_eq!(
        next.commands,
        ["erasure retry --receipt s3://acme-erasure/receipts/erasure-5d4c3b2a19f8e7d6c5b4a39281706f5e.json"]
    );
    assert!(rep.notes[0].contains("kept so the request can be retried"));
    assert!(rep
        .notes
        .iter()
        .any(|n| n.starts_with("1 event tracker feeds")));
    assert!(rep
        .notes
        .iter()
        .any(|n| n.starts_with("1 S3 location that")));
    assert_eq!(exit_code(r.outcome), 1);
}

#[test]
fn the_retry_names_the_receipt_where_it_was_read() {
    let r = fixture("partial");
    let given = "s3://other-bucket/receipts/erasure-5d4c3b2a19f8e7d6c5b4a39281706f5e-retry-1.json";
    let rep = Report::of(&r, &receipt_uri(given, &r));
    assert_eq!(
        rep.next.unwrap().commands,
        [format!("erasure retry --receipt {given}")]
    );
}

#[test]
fn several_failure_reasons_are_counted_each() {
    let mut r = fixture("partial");
    let p = &mut r.pinpoint[0];
    p.failed_users = 1_203;
    p.failure_reasons = [
        ("access denied".to_string(), 3),
        ("throttled".to_string(), 1_200),
    ]
    .into_iter()
    .collect();
    let next = report(&r).next.unwrap();
    assert_eq!(
        next.problems[0],
        "1,203 users could not be erased from Pinpoint application 4b9c2e7f1a3d4c5b8e6f7a9b0c1d2e3f (3 access denied, 1,200 throttled)."
    );
    assert_eq!(
        next.advice,
        "Fix the access; wait for the throttling to pass, then run:"
    );
}

#[test]
fn a_failed_receipt_names_the_job_and_the_unusable_domain() {
    let r = fixture("failed");
    let rep = report(&r);
    assert_eq!(
        rep.summary[0],
        "1 user was to be erased on 2026-12-03, and the erasure FAILED."
    );
    assert_eq!(
        rep.summary[1],
        "Recorded before it ended: 1 Personalize dataset group (no records reported deleted; 1 of \
         1 deletion job not completed (FAILED); models not retrained), 1 Pinpoint application (1 \
         endpoint) and 1 Customer Profiles domain (0 profiles; could not be used: domain not found)."
    );
    let next = rep.next.unwrap();
    assert_eq!(
        next.problems,
        [
            "The Personalize deletion job of dataset group arn:aws:personalize:eu-west-1:123456789012:dataset-group/shop, part 0 (1 user) FAILED: Dataset group is being updated.",
            "Customer Profiles domain crm could not be used (domain not found): the profiles of 1 user there were not deleted.",
        ]
    );
    assert_eq!(
        next.advice,
        "Fix the cause; make sure the destination exists (or take it out of the deployment's configuration), then run:"
    );
    assert_eq!(
        next.commands,
        ["erasure retry --receipt s3://acme-erasure/receipts/erasure-7e6d5c4b3a29180f7e6d5c4b3a29180f.json"]
    );
    assert_eq!(exit_code(r.outcome), 1);
}

#[test]
fn a_failed_receipt_with_nothing_recorded_gives_its_reason() {
    let mut r = fixture("failed");
    r.personalize.clear();
    r.pinpoint.clear();
    r.customer_profiles.clear();
    r.personalize_models.clear();
    r.reason = Some("the erasure steps never ran".into());
    let rep = report(&r);
    assert_eq!(
        rep.summary[..3],
        [
            "1 user was to be erased on 2026-12-03, and the erasure FAILED.",
            "The erasure steps never ran.",
            "No deletion was recorded.",
        ]
    );
    let next = rep.next.unwrap();
    assert_eq!(
        next.problems,
        ["The receipt says: the erasure steps never ran."]
    );
    assert_eq!(next.advice, "Fix the cause, then run:");
}

#[test]
fn an_aborted_receipt_says_how_far_it_got() {
    let r = fixture("aborted");
    let rep = report(&r);
    assert_eq!(
        rep.summary[0],
        "1,000 users were to be erased on 2026-12-04; an operator stopped the erasure before it ended (ABORTED)."
    );
    assert_eq!(
        rep.summary[1],
        "Done up to then: 1 Personalize dataset group (no records reported deleted; 1 of 1 \
         deletion job not completed (IN_PROGRESS)) and 1 Pinpoint application (1,100 endpoints; \
         10 users had none)."
    );
    let next = rep.next.unwrap();
    assert_eq!(
        next.problems,
        [
            "An operator stopped the execution before it ended.",
            "The Personalize deletion job of dataset group arn:aws:personalize:eu-west-1:123456789012:dataset-group/shop, part 0 (1,000 users) had not ended (IN_PROGRESS) when the erasure stopped.",
            "Pinpoint application 4b9c2e7f1a3d4c5b8e6f7a9b0c1d2e3f handled only 600 of 1,000 users.",
        ]
    );
    assert_eq!(next.advice, "To finish the erasure, run:");
    assert_eq!(exit_code(r.outcome), 1);
}

#[test]
fn a_rejected_receipt_says_why_by_line_and_nothing_was_deleted() {
    let r = fixture("rejected");
    let rep = report(&r);
    assert_eq!(
        rep.summary[0],
        "The request file requests/a<b>&\"c\".csv was rejected on 2026-12-05, and nothing was \
         deleted: 3 rows are invalid (first: line 4: a control character) (code BAD_ROWS)."
    );
    assert_eq!(
        rep.summary[1],
        "3 rows were rejected: line 4 (the ID contains a control character), line 7 (the ID is \
         longer than 256 characters) and line 11 (the value's quoting is malformed)."
    );
    assert_eq!(
        rep.summary[2],
        "Ordered by the IAM user with UserId AIDAEXAMPLEUSERID5678, uploaded at 2026-12-05T16:00:00.000Z."
    );
    let next = rep.next.unwrap();
    assert!(next.advice.starts_with("Fix the file"), "{}", next.advice);
    assert!(next.advice.contains("nothing to retry"));
    assert_eq!(
        next.commands,
        [
            "erasure validate 'a<b>&\"c\".csv'",
            "aws s3 cp 'a<b>&\"c\".csv' 's3://acme-erasure/requests/a<b>&\"c\".csv'",
        ]
    );
    assert_eq!(report(&r).tables[0].id, "rejections");
    assert_eq!(exit_code(r.outcome), 1);
}

#[test]
fn more_rejected_rows_than_listed_are_counted() {
    let mut r = fixture("rejected");
    r.request.rejected_rows = 1_500;
    let s = &report(&r).summary[1];
    assert!(s.starts_with("1,500 rows were rejected: line 4"), "{s}");
    assert!(s.ends_with("and 1,497 more rows."), "{s}");
    r.request.rejected_rows = 1;
    r.request.rejections.truncate(1);
    assert_eq!(
        report(&r).summary[1],
        "1 row was rejected: line 4 (the ID contains a control character)."
    );
}

#[test]
fn a_refused_uploader_is_told_to_upload_as_a_named_role() {
    let mut r = fixture("rejected");
    r.request.rejection_code = Some("UPLOADER_NOT_ALLOWED".into());
    r.request.rejections.clear();
    let next = report(&r).next.unwrap();
    assert!(
        next.advice.contains("named uploader roles"),
        "{}",
        next.advice
    );
    assert!(next.commands.is_empty());
}

#[test]
fn a_plan_reads_as_what_erasing_would_touch() {
    let r = fixture("planned");
    let rep = report(&r);
    assert_eq!(
        rep.summary[0],
        "This is a preview made on 2026-11-30: nothing was deleted."
    );
    assert_eq!(
        rep.summary[1],
        "Erasing the 500 users of plans/march.csv would touch 1 Personalize dataset group (1 \
         deletion job; 2 solutions to retrain, about 3.75 training hours), 1 Pinpoint application \
         (497 users with endpoints; 998 endpoints; 2 users not checked) and 1 Customer Profiles \
         domain (1 user with profiles; 1 profile)."
    );
    assert_eq!(
        rep.summary[2],
        "Uploaded under the request prefix when the plan was made, the erasure would have ended by 2026-11-30T13:41:07Z at the latest."
    );
    assert!(rep.summary[3].starts_with("2 user(s) could not be checked"));
    let next = rep.next.unwrap();
    assert!(next.advice.starts_with(
        "Nothing was deleted. To erase these users, upload the same file (SHA-256 9b2e6f0c"
    ));
    assert_eq!(
        next.commands,
        ["aws s3 cp march.csv s3://acme-erasure/requests/march.csv"]
    );
    let ids: Vec<&str> = rep.tables.iter().map(|t| t.id).collect();
    assert_eq!(
        ids,
        ["planPersonalize", "planPinpoint", "planCustomerProfiles"]
    );
    assert_eq!(exit_code(r.outcome), 3);
}

#[test]
fn commands_quote_what_the_shell_would_read() {
    use super::report::sh_quote;
    assert_eq!(
        sh_quote("s3://b/receipts/erasure-1.json"),
        "s3://b/receipts/erasure-1.json"
    );
    assert_eq!(sh_quote("a b"), "'a b'");
    assert_eq!(sh_quote("it's;rm"), r"'it'\''s;rm'");
    assert_eq!(sh_quote(""), "''");
    let r = fixture("partial");
    let rep = Report::of(&r, "s3://b/receipts/my receipt.json");
    assert_eq!(
        rep.next.unwrap().commands,
        ["erasure retry --receipt 's3://b/receipts/my receipt.json'"]
    );
}

#[test]
fn every_outcome_has_its_exit_code() {
    assert_eq!(exit_code(Outcome::Completed), 0);
    assert_eq!(exit_code(Outcome::Planned), 3);
    for o in [
        Outcome::Partial,
        Outcome::Failed,
        Outcome::Rejected,
        Outcome::Aborted,
    ] {
        assert_eq!(exit_code(o), 1, "{o:?}");
    }
}

#[test]
fn a_version_2_receipt_reads_too() {
    let v2 = r#"{"schemaVersion":"2","requestId":"3f1c0a9b8d7e6f5a4b3c2d1e0f9a8b7c",
        "executionName":"erasure-3f1c0a9b8d7e6f5a4b3c2d1e0f9a8b7c","outcome":"COMPLETED",
        "request":{"bucket":"b","key":"requests/x.csv","etag":"e","rows":7,"validUsers":5,
        "duplicates":1,"rejectedRows":0},"personalize":[],"pinpoint":[{"applicationId":"app",
        "usersProcessed":5,"endpointsDeleted":8,"usersWithoutEndpoints":1,"failedUsers":0}],
        "startedAt":"2025-01-01T00:00:00Z","finishedAt":"2025-01-01T01:00:00Z"}"#;
    let r: Receipt = serde_json::from_str(v2).unwrap();
    assert_eq!(
        report(&r).summary[0],
        "5 users were erased on 2025-01-01 from 1 Pinpoint application (8 endpoints; 1 user had none)."
    );
}

#[test]
fn fields_the_receipt_type_does_not_know_are_never_printed() {
    let mut v: serde_json::Value =
        serde_json::from_str(include_str!("../../../tests/receipts/partial.json")).unwrap();
    v["userIds"] = serde_json::json!(["alice-secret-id-1"]);
    v["pinpoint"][0]["sampleUser"] = serde_json::json!("alice-secret-id-2");
    v["request"]["firstUser"] = serde_json::json!("alice-secret-id-3");
    let r: Receipt = serde_json::from_value(v).unwrap();
    let rep = report(&r);
    for out in [text(&rep), markdown(&rep), html(&rep)] {
        assert!(!out.contains("alice-secret"), "an unknown field was echoed");
    }
}

#[test]
fn every_format_escapes_what_it_must() {
    assert_eq!(
        html_escape(r#"requests/a<b>&"c"'.csv"#),
        "requests/a&lt;b&gt;&amp;&quot;c&quot;&#39;.csv"
    );
    assert_eq!(md_escape("a<b>|c_d*e`"), r"a\<b\>\|c\_d\*e\`");
    let rep = report(&fixture("rejected"));
    let h = html(&rep);
    assert!(h.contains("requests/a&lt;b&gt;&amp;&quot;c&quot;.csv"));
    assert!(!h.contains("a<b>"), "a raw key in the HTML");
    let m = markdown(&rep);
    assert!(m.contains(r#"requests/a\<b\>\&"c".csv"#));
    assert!(
        !m.contains("a<b>") || m.contains("```"),
        "a raw key outside code"
    );
}

#[test]
fn text_tables_are_aligned() {
    let rep = report(&fixture("partial"));
    let out = text(&rep);
    let lines: Vec<&str> = out.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == "Pinpoint applications")
        .unwrap();
    let (header, rule, row) = (lines[at + 1], lines[at + 2], lines[at + 3]);
    assert!(header.starts_with("Application"));
    assert!(rule.starts_with("---") && rule.chars().all(|c| c == '-' || c == ' '));
    // "Endpoints deleted" is right-aligned: its value ends where its header does.
    let end = header.find("Endpoints deleted").unwrap() + "Endpoints deleted".len();
    assert_eq!(&row[end - "2,401".len()..end], "2,401");
    // Every paragraph line fits the width, except a single unbreakable word.
    for l in out.lines().filter(|l| !l.contains("  ")) {
        assert!(l.chars().count() <= 100 || !l.trim().contains(' '), "{l}");
    }
}

#[test]
fn retrained_models_say_when_the_last_training_ended_with_its_date_if_another_day() {
    let mut r = fixture("completed");
    r.personalize_models[0].retraining[0].trained_at = Some("2026-11-30T23:50:07Z".into());
    assert!(report(&r).summary[0]
        .contains("(1,500 records; models retrained at 23:50 UTC on 2026-11-30)"));
    // Without the time (a receipt written before it was recorded), only the fact.
    r.personalize_models[0].retraining[0].trained_at = None;
    assert!(report(&r).summary[0].contains("(1,500 records; models retrained)"));
}
