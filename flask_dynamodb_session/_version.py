"""The package's version, in this one place.

setup.cfg reads it (``attr:``, without importing the package) and the
User-Agent of every DynamoDB call names it.
"""

__version__ = "0.3.0"
