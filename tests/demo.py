"""`make demo`: one erasure, end to end, on the local emulation.

Starts the emulation and the real function binaries, deploys the workflow, seeds a Personalize
dataset group (with a custom solution and a campaign), a Pinpoint application and a Customer
Profiles domain with data for the request's users and for other users (some listed users with two
profiles, one with none), uploads the request under requests/, follows the workflow, prints the
status of the request while it runs and once it ended (`erasure status`, as the operator role), the
receipt, and checks that exactly the listed users were erased from all three and that the
campaign now serves a model trained without them. Exits 0 only when the outcome is COMPLETED and
the check holds.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.harness import ROOT, AppConfig, Stack, build_functions, wait_for

OTHER_USERS = [f"bystander-{i:03d}" for i in range(8)]


def listed_users(data: bytes) -> list[str]:
    """The demo's own reading of the request (only to seed data; the workflow has its own)."""
    text = data.decode("utf-8-sig", errors="replace")
    rows = list(csv.reader(io.StringIO(text)))
    ids = []
    for row in rows[1:]:
        if row and row[0].strip():
            ids.append(row[0].strip())
    return list(dict.fromkeys(ids))


def read_receipt(receipt: dict) -> str:
    """The receipt as a person reads it: `erasure receipt` on a copy of it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "receipt.json"
        path.write_text(json.dumps(receipt))
        out = subprocess.run([str(ROOT / "target" / "debug" / "erasure"), "receipt", str(path)],
                             capture_output=True, text=True, timeout=60)
    if out.returncode == 2:
        return f"(erasure receipt failed: {out.stderr.strip()})\n" + json.dumps(receipt, indent=2)
    return out.stdout


def status_of(stack, *args: str) -> str:
    """`erasure status ARGS` as the stack's OperatorRole runs it (no user ID is read)."""
    from tests.helpers import operator_env

    out = subprocess.run([str(ROOT / "target" / "debug" / "erasure"), "status", *args],
                         capture_output=True, text=True, timeout=60, env=operator_env(stack))
    if out.returncode == 2:
        return f"(erasure status failed: {out.stderr.strip()})\n"
    return out.stdout


def plan_lines(plan: dict) -> list[str]:
    """The plan as a person reads it (the lines `erasure lookup` prints for a plan)."""
    out = []
    for g in plan["personalize"]:
        hours = f" (about {g['estimatedTrainingHours']} training hours)" if "estimatedTrainingHours" in g else ""
        campaigns = sum(len(s["campaigns"]) for s in g["solutions"])
        out.append(f"personalize {g['datasetGroupArn'].rsplit('/', 1)[-1]}: {g['deletionJobs']} deletion job(s) for "
                   f"{g['users']} user(s), then {len(g['solutions'])} solution(s) retrained and {campaigns} "
                   f"campaign(s) moved{hours}")
    for p in plan["pinpoint"]:
        out.append(f"pinpoint {p['applicationId']}: {p['usersWithEndpoints']} of {p['usersChecked']} user(s) have "
                   f"endpoints, {p['endpoints']} endpoint(s) would be deleted")
    for p in plan["customerProfiles"]:
        out.append(f"customer profiles {p['domainName']}: {p['usersWithProfiles']} of {p['usersChecked']} user(s) "
                   f"have profiles, {p['profiles']} profile(s) would be deleted")
    if "latestEnd" in plan:
        out.append(f"if uploaded now, the erasure would end by {plan['latestEnd']} at the latest")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--csv", default=str(ROOT / "events" / "request.csv"), help="the request file to erase")
    ap.add_argument("--json", action="store_true", help="print the receipt as its raw JSON")
    ap.add_argument("--plan", action="store_true",
                    help="preview first: upload the file under plans/, print the plan, then erase it")
    args = ap.parse_args()
    path = Path(args.csv)
    data = path.read_bytes()
    users = listed_users(data)
    print(f"request file: {path} ({len(data)} bytes, {len(users)} distinct user IDs by a plain CSV read)")

    t0 = time.monotonic()
    print("building the function binaries ...", flush=True)
    build_functions()
    with Stack() as stack:
        print(f"emulation on {stack.endpoint}; functions served by cargo lambda watch on :{stack.lambda_port}")
        dsg = stack.dataset_group("demo-interactions")
        app = stack.pinpoint_app("demo-app")
        domain = stack.profiles_domain("demo-crm")
        cfg = AppConfig(dataset_group_arns=[dsg], application_ids=[app], poll_seconds=2,
                        profiles_domains=[domain], profiles_search_key="_account")
        stack.deploy(cfg)
        # Every listed user has records and endpoints, but the last one has no endpoint at all.
        with_endpoints = users[:-1] if len(users) > 1 else users
        stack.seed_records(dsg, {u: 3 for u in users + OTHER_USERS})
        stack.seed_endpoints(app, {**{u: 2 for u in with_endpoints}, **{u: 2 for u in OTHER_USERS}})
        # Profiles keyed by the user ID as the account number: every third listed user has two
        # (a person migrated twice), the first has none, every other user one.
        profiles = {u: (0 if i == 0 else 2 if i % 3 == 0 else 1) for i, u in enumerate(users)}
        stack.seed_profiles(domain, {**profiles, **{u: 1 for u in OTHER_USERS}})
        # A custom solution trained on today's data (listed users included), served by a campaign:
        # the workflow retrains it after the deletion and moves the campaign to the new model.
        stack.personalize_models_config(training_seconds=4)
        solution, first_model = stack.personalize_solution(dsg, "demo-recommendations")
        campaign = stack.personalize_campaign(first_model, "demo-live")
        print(f"seeded: dataset group {dsg} (solution {solution.rsplit('/', 1)[-1]}, served by campaign "
              f"{campaign.rsplit('/', 1)[-1]}), Pinpoint application {app} and Customer Profiles domain "
              f"{domain} (key _account), {len(users)} listed users and {len(OTHER_USERS)} other users")

        def show(ev):
            kind = ev["type"]
            if kind.endswith("StateEntered"):
                name = ev["stateEnteredEventDetails"]["name"]
                print(f"  {ev['timestamp']:%H:%M:%S}  -> {name}", flush=True)
            elif kind in ("ExecutionSucceeded", "ExecutionFailed"):
                print(f"  {ev['timestamp']:%H:%M:%S}  {kind}", flush=True)

        plan_name = None
        if args.plan:
            plan_key = f"plans/{path.name}"
            stack.upload(plan_key, data)
            print(f"uploaded s3://erasure-requests/{plan_key}: a preview, read-only\n")
            planned = stack.wait_for_execution(timeout=600, on_event=show)
            plan_name = planned["name"]
            plan = stack.receipt(plan_name)
            print(f"\nplan {plan_name}: {planned['status']}, outcome {plan['outcome']} "
                  f"(receipt s3://erasure-requests/receipts/{plan_name}.json)")
            for line in plan_lines(plan["plan"]):
                print(f"  {line}")
            print()

        key = f"requests/{path.name}"
        stack.upload(key, data)
        print(f"uploaded s3://erasure-requests/{key}; the S3 notification starts the workflow\n")
        erasing = wait_for("the erasure to start", lambda: next(
            (e["name"] for e in stack.executions() if e["name"] != plan_name), None), timeout=60)
        shown = []

        def show_and_status(ev):
            show(ev)
            # Once Personalize waits for its deletion job: where the request stands, as the
            # operator sees it (`erasure status`).
            if ev["type"] == "WaitStateEntered" and not shown:
                shown.append(True)
                print(f"\n  $ erasure status {erasing}")
                print("".join(f"  {line}\n" for line in status_of(stack, erasing).splitlines()), flush=True)
                print("  $ erasure status --list")
                print("".join(f"  {line}\n" for line in status_of(stack, "--list").splitlines()), flush=True)

        result = stack.wait_for_execution(timeout=600, on_event=show_and_status, name=erasing)
        name = result["name"]
        receipt = stack.receipt(name)
        print(f"\nexecution {name}: {result['status']}")
        print(f"\n$ erasure status {name}")
        print(status_of(stack, name))
        print("$ erasure status --list")
        print(status_of(stack, "--list"))
        print(f"receipt s3://erasure-requests/receipts/{name}.json, as `erasure receipt` reads it "
              f"(--json prints the JSON):\n")
        if args.json:
            print(json.dumps(receipt, indent=2))
        else:
            print(read_receipt(receipt))

        # The check: exactly the listed users are gone, everyone else is untouched.
        problems = []
        left = stack.endpoints(app)
        records = stack.records(dsg)
        profiles_left = stack.profiles(domain)
        for u in users:
            if left.get(u):
                problems.append(f"a listed user still has {len(left[u])} endpoint(s)")
            if records.get(u):
                problems.append(f"a listed user still has {records[u]} Personalize record(s)")
            if profiles_left.get(u):
                problems.append(f"a listed user still has {profiles_left[u]} profile(s)")
        for u in OTHER_USERS:
            if len(left.get(u, [])) != 2:
                problems.append("another user's endpoints were touched")
            if records.get(u) != 3:
                problems.append("another user's Personalize records were touched")
            if profiles_left.get(u) != 1:
                problems.append("another user's profile was touched")
        # The models: the campaign serves a version trained after the deletion, without the users.
        [models] = receipt.get("personalizeModels") or [None]
        retrained = (models or {}).get("retraining") or []
        serving = {c["campaignArn"]: c["solutionVersionArn"]
                   for s in stack.personalize_models(dsg)["solutions"] for c in s["campaigns"]}
        versions = {v["solutionVersionArn"]: v for s in stack.personalize_models(dsg)["solutions"]
                    for v in s["versions"]}
        if not models or models["status"] != "RETRAINED" or len(retrained) != 1:
            problems.append("the receipt does not show the solution retrained")
        else:
            new_model = retrained[0]["solutionVersionArn"]
            print(f"\nmodels: {solution.rsplit('/', 1)[-1]} retrained as {new_model.rsplit('/', 1)[-1]} "
                  f"({retrained[0]['trainingHours']} training hours), campaign "
                  f"{retrained[0]['campaigns'][0]['status']} on it")
            if serving.get(campaign) != new_model:
                problems.append("the campaign does not serve the retrained model")
            if set(users) & set(versions[new_model]["trainedOn"] or []):
                problems.append("the retrained model was trained on a listed user")
        # The receipt says the same: both destinations, with what the seed implies.
        [pp] = receipt["pinpoint"]
        [cp] = receipt["customerProfiles"]
        expected = (len(users), sum(profiles.values()), sum(1 for n in profiles.values() if n == 0), 0)
        got = (cp["usersProcessed"], cp["profilesDeleted"], cp["usersWithoutProfile"], cp["failedUsers"])
        if got != expected:
            problems.append(f"the receipt's Customer Profiles counts are {got}, expected {expected}")
        if (pp["usersProcessed"], pp["failedUsers"]) != (len(users), 0):
            problems.append("the receipt's Pinpoint counts do not cover every user")
        if plan_name:
            # The plan counted what the erasure then deleted, and the receipt names the plan.
            if receipt.get("precededBy", {}).get("executionName") != plan_name:
                problems.append("the erasure's receipt does not name the plan that preceded it")
            if plan["plan"]["pinpoint"][0]["endpoints"] != pp["endpointsDeleted"] or \
                    plan["plan"]["customerProfiles"][0]["profiles"] != cp["profilesDeleted"]:
                problems.append("the plan's counts differ from what the erasure deleted")
            else:
                print(f"plan: {plan_name} counted the {pp['endpointsDeleted']} endpoints and {cp['profilesDeleted']} "
                      f"profiles the erasure then deleted; the receipt names it (precededBy)")
        print("\ncheck: ", end="")
        if problems:
            print("FAILED\n  " + "\n  ".join(sorted(set(problems))))
        else:
            print(f"every listed user's endpoints, profiles and records are gone, the campaign serves a "
                  f"model trained without them; the {len(OTHER_USERS)} other users are untouched")
        print(f"outcome {receipt['outcome']} in {time.monotonic() - t0:.0f}s")
        return 0 if receipt["outcome"] == "COMPLETED" and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
