"""Helpers of the least-privilege tests: the documented IAM policies, IAM users.

:func:`documented_policies`
    the DynamoDB actions ``docs/iam.rst`` grants: the running app's policy,
    what ``SESSION_DYNAMODB_AUTO_CREATE`` adds, the command line's policy and
    its table of actions per command, and what the sessions of a user add.
    Read from the page itself, so that the tests check what users are told.
:class:`Users`
    IAM users of a :class:`~tests.support.servers.MotoServer` running with
    ``iam_auth``, one per set of actions, each with an access key.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import re
import textwrap
import typing as t

import botocore.session

from tests.support.servers import REPO_ROOT, AccessKey

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from tests.support.servers import MotoServer

__all__ = ["DocumentedPolicies", "Users", "documented_policies"]

#: The page of the IAM policies.
IAM_PAGE = REPO_ROOT / "docs" / "iam.rst"
#: Its sections, each holding one JSON policy.
APP_SECTION = "The app's policy"
CLI_SECTION = "The command line's policy"
USERS_SECTION = "Sessions of a user"

#: ``dynamodb:GetItem`` in running text.
_QUALIFIED_ACTION = re.compile(r"``dynamodb:([A-Za-z]+)``")
#: Any inline literal of reStructuredText.
_LITERAL = re.compile(r"``([^`]+)``")


@dataclasses.dataclass(frozen=True)
class DocumentedPolicies:
    """The DynamoDB actions (without the ``dynamodb:`` prefix) the docs grant."""

    #: The running app's policy.
    app: frozenset[str]
    #: What the app needs on top of :attr:`app` with ``auto_create``.
    auto_create: frozenset[str]
    #: The policy of the role that runs the CLI.
    cli: frozenset[str]
    #: The actions of each ``flask dynamo-session`` command.
    commands: dict[str, frozenset[str]]
    #: What listing and ending the sessions of a user add.
    users: frozenset[str]


@functools.cache
def dynamodb_operations() -> frozenset[str]:
    """The names of DynamoDB's API operations, from botocore's service model."""
    model = botocore.session.get_session().get_service_model("dynamodb")
    return frozenset(model.operation_names)


@functools.cache
def documented_policies() -> DocumentedPolicies:
    """Read the actions of the policies of ``docs/iam.rst``.

    :raises AssertionError: the page is not laid out as expected (a section
        per policy, each with one JSON policy; a sentence naming
        ``SESSION_DYNAMODB_AUTO_CREATE`` in the app's; a table of commands in
        the command line's), or names something that is no DynamoDB action.
    """
    text = IAM_PAGE.read_text(encoding="utf-8")
    app_section = _section(text, APP_SECTION)
    auto_create = [
        paragraph
        for paragraph in app_section.split("\n\n")
        if "SESSION_DYNAMODB_AUTO_CREATE" in paragraph
    ]
    assert len(auto_create) == 1, "expected one paragraph on auto_create"
    cli_section = _section(text, CLI_SECTION)
    return DocumentedPolicies(
        app=_one_policy(app_section, APP_SECTION),
        auto_create=_actions(_QUALIFIED_ACTION.findall(auto_create[0])),
        cli=_one_policy(cli_section, CLI_SECTION),
        commands=_command_table(cli_section),
        users=_one_policy(_section(text, USERS_SECTION), USERS_SECTION),
    )


def _one_policy(section: str, title: str) -> frozenset[str]:
    """The actions of the one JSON policy of *section*."""
    blocks = _json_blocks(section)
    assert len(blocks) == 1, f"expected 1 JSON policy in {title!r}, found {len(blocks)}"
    return _policy_actions(blocks[0])


def _section(text: str, title: str) -> str:
    """The body of the section *title*, up to the next heading of any level."""
    lines = text.splitlines()
    for number, line in enumerate(lines[:-1]):
        if line == title and _is_underline(lines[number + 1], line):
            start = number + 2
            break
    else:
        raise AssertionError(f"{IAM_PAGE.name} has no section {title!r}")
    for end in range(start, len(lines) - 1):
        if lines[end] and _is_underline(lines[end + 1], lines[end]):
            return "\n".join(lines[start:end])
    return "\n".join(lines[start:])


def _is_underline(line: str, title: str) -> bool:
    return (
        len(line) >= len(title.rstrip())
        and len(set(line)) == 1
        and line[0] in "=-~^\"'`#*+"
    )


def _json_blocks(section: str) -> list[str]:
    """The contents of every ``.. code-block:: json`` of *section*."""
    blocks = []
    lines = section.splitlines()
    for number, line in enumerate(lines):
        if line.strip() != ".. code-block:: json":
            continue
        body = []
        for following in lines[number + 1 :]:
            if following and not following.startswith(" "):
                break
            body.append(following)
        blocks.append(textwrap.dedent("\n".join(body)))
    return blocks


def _policy_actions(block: str) -> frozenset[str]:
    document = json.loads(block)
    statements = document["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    actions: list[str] = []
    for statement in statements:
        assert statement["Effect"] == "Allow", statement
        granted = statement["Action"]
        for action in [granted] if isinstance(granted, str) else granted:
            service, _, name = action.partition(":")
            assert service == "dynamodb", f"not a DynamoDB action: {action!r}"
            actions.append(name)
    return _actions(actions)


def _actions(names: Iterable[str]) -> frozenset[str]:
    actions = frozenset(names)
    unknown = actions - dynamodb_operations()
    assert not unknown, f"not DynamoDB actions: {sorted(unknown)}"
    return actions


def _command_table(section: str) -> dict[str, frozenset[str]]:
    """The simple table "command / actions" of *section*."""
    lines = section.splitlines()
    rules = [
        number
        for number, line in enumerate(lines)
        if line.startswith("=") and set(line) <= {"=", " "}
    ]
    assert len(rules) == 3, "expected one simple table of commands"
    width = lines[rules[0]].index(" ")
    commands: dict[str, list[str]] = {}
    current: list[str] = []
    for line in lines[rules[1] + 1 : rules[2]]:
        command = line[:width].strip()
        if command:
            current = commands.setdefault(command.strip("`"), [])
        # Literals that are not operations (``ACTIVE``) are remarks.
        current.extend(
            name
            for name in _LITERAL.findall(line[width:])
            if name in dynamodb_operations()
        )
    return {command: _actions(names) for command, names in commands.items()}


def policy_document(actions: Iterable[str], resource: str = "*") -> str:
    """An IAM policy allowing the DynamoDB *actions* on *resource*.

    moto matches DynamoDB actions only against ``"Resource": "*"``, so the
    documented table ARN is replaced by ``*`` by default.
    """
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": [f"dynamodb:{action}" for action in sorted(actions)],
                    "Resource": resource,
                }
            ],
        }
    )


class Users:
    """IAM users of *server*, one per set of allowed actions, created on demand.

    :param server: a :class:`~tests.support.servers.MotoServer` running with
        ``iam_auth``.
    """

    def __init__(self, server: MotoServer) -> None:
        self.server = server
        self._keys: dict[tuple[frozenset[str], bool, str], AccessKey] = {}
        self._numbers = itertools.count(1)

    def key(
        self, actions: Iterable[str], *, attached: bool = False, resource: str = "*"
    ) -> AccessKey:
        """The access key of a user allowed exactly *actions* on *resource*.

        :param actions: DynamoDB action names, such as ``"GetItem"``.
        :param attached: grant them by a managed policy attached to the user,
            rather than by an inline policy.
        :param resource: the policy's ``Resource``.
        """
        wanted = (frozenset(actions), attached, resource)
        key = self._keys.get(wanted)
        if key is None:
            key = self._keys[wanted] = self._create(*wanted)
        return key

    def _create(
        self, actions: frozenset[str], attached: bool, resource: str
    ) -> AccessKey:
        name = f"user-{next(self._numbers)}"
        document = policy_document(actions, resource)
        iam = self.server.iam_client()
        try:
            iam.create_user(UserName=name)
            if attached:
                policy = iam.create_policy(
                    PolicyName=f"{name}-policy", PolicyDocument=document
                )
                iam.attach_user_policy(UserName=name, PolicyArn=policy["Policy"]["Arn"])
            else:
                iam.put_user_policy(
                    UserName=name, PolicyName="sessions", PolicyDocument=document
                )
            created = iam.create_access_key(UserName=name)["AccessKey"]
        finally:
            iam.close()
        return AccessKey(created["AccessKeyId"], created["SecretAccessKey"])
