"""The template as CloudFormation receives it: SAM's transform, run offline, and what reads it."""
