"""The local AWS emulation: moto (S3, Step Functions with ASL execution, Lambda, IAM) plus the
project's own emulation of the Personalize data deletion and Pinpoint endpoint APIs, on one port,
speaking the real wire protocols; Lambda invocations are forwarded to `cargo lambda watch`."""
