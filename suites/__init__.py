"""pytest-so101 acceptance suites.

From a checkout: ``pytest suites``. From an installed wheel, where they ship as
``pytest_so101.suites``: ``pytest --pyargs pytest_so101.suites --so101-calibration ...``.
"""
