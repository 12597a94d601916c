"""Local emulation of the AWS services this project uses, on one port.

`python -m tests.emulation --port P --lambda-endpoint http://127.0.0.1:9000` serves:

- moto (in-process) for S3, Step Functions (with ASL execution on), Lambda, IAM, STS, ...;
  every Lambda invocation is forwarded to `--lambda-endpoint` (`cargo lambda watch`);
- Amazon Personalize data deletion jobs (personalize.py) and the model resources around them:
  datasets, import/export jobs, solutions and versions, campaigns, recommenders, batch jobs,
  event trackers (personalize_models.py);
- Amazon Pinpoint applications and endpoints (pinpoint.py);
- Amazon Connect Customer Profiles domains and profiles: search, delete, re-creation (customer_profiles.py);
- Step Functions execution status-change events delivered to a Lambda function, as an
  EventBridge rule would (events.py);
- a control API under /_emulator/ (app.py) for seeding, timing, throttling, faults (Personalize,
  Pinpoint, Customer Profiles and S3), event rules and the call log.

Its tests are in tests/emulation_tests/: test_<module>.py for each module here they exercise.

ACCOUNT and REGION are the emulated account and its default Region: every test, the harness and
the template's offline transform use these two, from here.
"""

# moto's default account (moto.core.DEFAULT_ACCOUNT_ID): the one its backends serve unsigned and
# dummy-signed requests in.
ACCOUNT = "123456789012"
REGION = "us-east-1"
