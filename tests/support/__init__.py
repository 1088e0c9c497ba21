"""What the tests share: servers, the test proxy, apps, tables and browsers.

``conftest.py`` holds the fixtures and builds them from these modules; test
modules import the helpers from here, never from ``conftest``.
:mod:`tests.support.servers` needs neither pytest nor moto at import, so that
the benchmark starts its servers with it too.
"""
