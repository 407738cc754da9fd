"""Reports: the acceptance record (JSON), baselines, and the pytest-html extras."""
