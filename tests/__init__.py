"""The test suite: test modules, fixtures in ``conftest.py``, helpers in
:mod:`tests.support`."""
