"""The checks of single option values, beyond what :mod:`test_options` covers."""

from __future__ import annotations

import typing as t

import pytest

from flask_dynamodb_session import ConfigurationError
from flask_dynamodb_session.options import CONFIG_KEYS, resolve

#: The boolean options, by name.
FLAGS = ["auto_create", "record_client", "encrypt", "consistent_read"]


@pytest.mark.parametrize("name", FLAGS)
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("TRUE", True),
        (" True ", True),
        ("false", False),
        ("False\n", False),
        ("  FALSE", False),
    ],
)
def test_a_flag_takes_a_bool_or_its_text(
    name: str, value: t.Any, expected: bool
) -> None:
    extra = {"encryption_keys": [b"k" * 32]} if name == "encrypt" else {}
    from_config = resolve(extra, {CONFIG_KEYS[name]: value})
    from_keyword = resolve({name: value, **extra})
    assert getattr(from_config, name) is expected
    assert getattr(from_keyword, name) is expected


@pytest.mark.parametrize("name", FLAGS)
@pytest.mark.parametrize(
    "value",
    ["", " ", "yes", "no", "on", "off", "1", "0", "t", "f", 0, 1, 0.0, 2, [True]],
    ids=repr,
)
def test_a_flag_refuses_anything_else(name: str, value: t.Any) -> None:
    key = CONFIG_KEYS[name]
    with pytest.raises(ConfigurationError) as info:
        resolve({}, {key: value})
    assert info.value.key == key
    assert str(info.value).startswith(f"{key} must be True")
    assert str(info.value).endswith(f"got {value!r}")


@pytest.mark.parametrize("name", FLAGS)
def test_a_flag_given_as_none_is_refused(name: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve({name: None})
    assert info.value.key == CONFIG_KEYS[name]
    assert str(info.value).endswith("got None")


def test_the_message_says_what_a_flag_takes() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve({}, {"SESSION_DYNAMODB_AUTO_CREATE": "yes"})
    assert str(info.value) == (
        "SESSION_DYNAMODB_AUTO_CREATE must be True or False (from config also"
        ' the text "true" or "false"), got \'yes\''
    )


def test_consistent_read_also_takes_auto() -> None:
    assert (
        resolve({}, {"SESSION_DYNAMODB_CONSISTENT_READ": " Auto "}).consistent_read
        == "auto"
    )
    with pytest.raises(ConfigurationError) as info:
        resolve({}, {"SESSION_DYNAMODB_CONSISTENT_READ": ""})
    assert str(info.value) == (
        'SESSION_DYNAMODB_CONSISTENT_READ must be True, False or "auto" (from'
        ' config also the text "true" or "false"), got \'\''
    )
