"""Local emulation of the AWS services this project uses, on one port.

`python -m tests.emulator --port P --lambda-endpoint http://127.0.0.1:9000` serves:

- moto (in-process) for S3, Step Functions (with ASL execution on), Lambda, IAM, STS, ...;
  every Lambda invocation is forwarded to `--lambda-endpoint` (`cargo lambda watch`);
- Amazon Personalize data deletion jobs (personalize.py);
- Amazon Pinpoint applications and endpoints (pinpoint.py);
- a control API under /_emulator/ (app.py) for seeding, timing, throttling, faults and the call log.
"""
