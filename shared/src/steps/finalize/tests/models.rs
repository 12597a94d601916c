//! Finalisation with a custom solution in the dataset group: the receipt's models section, and
//! an outcome that is COMPLETED only when the models were retrained and the campaign moved.

use super::*;
use crate::receipt::models::ModelsStatus;

const SOLUTION: &str = "arn:aws:personalize:eu-west-1:123456789012:solution/recs";
const CAMPAIGN: &str = "arn:aws:personalize:eu-west-1:123456789012:campaign/recs";

#[tokio::test]
async fn a_retrained_solution_and_moved_campaign_are_in_a_completed_receipt() {
    let w = World::with_users(5);
    let initial = w.models.solution(GROUP, SOLUTION, 1);
    w.models.campaign(SOLUTION, CAMPAIGN, &initial, false);
    let out = w.run().await.unwrap();
    assert_eq!(out.outcome, Outcome::Completed, "{:?}", out.reason);
    let r = w.receipt(&out);
    let [g] = r.personalize_models.as_slice() else {
        panic!("one dataset group")
    };
    assert_eq!(g.status, ModelsStatus::Retrained);
    assert_eq!(g.preflight.as_ref().unwrap().proceeded, "QUIET");
    let t = &g.retraining[0];
    assert_eq!(
        (t.status.as_str(), t.training_mode.as_str()),
        ("ACTIVE", "FULL")
    );
    let new = t.solution_version_arn.clone().unwrap();
    assert_ne!(new, initial);
    assert_eq!(t.campaigns[0].status, "ACTIVE");
    assert_eq!(w.models.serving(CAMPAIGN), Some(new));
}

#[tokio::test]
async fn a_failed_training_makes_the_request_partial_and_says_why() {
    let w = World::with_users(5);
    w.models.solution(GROUP, SOLUTION, 1);
    w.models
        .fail_trainings(SOLUTION, "InsufficientData: too few interactions");
    let out = w.run().await.unwrap();
    assert_eq!(out.outcome, Outcome::Partial);
    let reason = out.reason.clone().unwrap();
    assert!(reason.contains("were not retrained"), "{reason}");
    assert!(reason.contains("too few interactions"), "{reason}");
    let r = w.receipt(&out);
    assert_eq!(
        r.personalize[0].status,
        JobState::Completed,
        "the data itself is deleted"
    );
    assert_eq!(
        r.personalize_models[0].retraining[0].status,
        "CREATE FAILED"
    );
}

#[tokio::test]
async fn a_receipt_written_before_the_models_step_ran_does_not_claim_the_models() {
    let w = World::with_users(3);
    w.models.solution(GROUP, SOLUTION, 1);
    let prepared = w.prepare().await;
    w.run_jobs().await;
    w.run_shards().await;
    let out = w.finalize(prepared).await.unwrap();
    assert_eq!(out.outcome, Outcome::Partial);
    let r = w.receipt(&out);
    assert_eq!(r.personalize_models[0].status, ModelsStatus::NotStarted);
    assert!(out
        .reason
        .clone()
        .unwrap()
        .contains("before the models step"));
}
