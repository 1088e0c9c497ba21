"""Sphinx configuration of the flask-dynamodb-session documentation.

Build it with ``sphinx-build -W -n --keep-going -b html docs docs/_build/html``
after ``pip install -e . -r docs/requirements.txt``. No network is needed:
references to other projects' names are not linked (``nitpick_ignore``).
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# The package of this checkout, and the local extension of the options table.
sys.path[:0] = [str(ROOT), str(DOCS / "_ext")]

from flask_dynamodb_session._version import __version__  # noqa: E402

project = "flask-dynamodb-session"
author = "flask-dynamodb-session contributors"
copyright = "the flask-dynamodb-session contributors"
# The one place the version is defined (setup.cfg reads it from there too).
release = __version__
version = ".".join(release.split(".")[:2])

extensions = ["sphinx.ext.autodoc", "options_table"]
exclude_patterns = ["_build"]
root_doc = "index"

html_theme = "alabaster"
html_theme_options = {
    "description": "Server-side Flask sessions in Amazon DynamoDB",
    "page_width": "1240px",
    "sidebar_width": "220px",
    "body_max_width": "none",
}
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_title = f"flask-dynamodb-session {release}"

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented"
autoclass_content = "class"

# Every reference must resolve (sphinx-build -n), but the documentation of
# other projects is not fetched (no intersphinx: the build needs no
# network): their names are left unlinked.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(flask|werkzeug|click|itsdangerous|blinker|markupsafe)(\..*)?"),
    (r"py:.*", r"(boto3|botocore|mypy_boto3_dynamodb)(\..*)?"),
    (r"py:.*", r"(datetime|collections\.abc|typing|t|_typeshed)\..*"),
    # Names the package's annotations import only for type checkers.
    (r"py:class", r"Flask|Loader|SecretKeys"),
]
