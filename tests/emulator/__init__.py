"""Local emulation of the AWS services this project uses, on one port.

`python -m tests.emulator --port P --lambda-endpoint http://127.0.0.1:9000` serves:

- moto (in-process) for S3, Step Functions (with ASL execution on), Lambda, IAM, STS, ...;
  every Lambda invocation is forwarded to `--lambda-endpoint` (`cargo lambda watch`);
- Amazon Personalize data deletion jobs (personalize.py);
- Amazon Pinpoint applications and endpoints (pinpoint.py);
- Step Functions execution status-change events delivered to a Lambda function, as an
  EventBridge rule would (events.py);
- a control API under /_emulator/ (app.py) for seeding, timing, throttling, faults (Personalize,
  Pinpoint and S3), event rules and the call log.
"""
