"""IAM for the calls the application makes: the transformed template's policies (template.py)
evaluated (policy.py) against every call the emulation recorded by principal (deployment.py,
tests/emulation/principals.py), with the Service Authorization Reference check (sar.py)."""
