"""The ``dynamodb-session-options`` directive: the table of the options.

Rendered from :data:`flask_dynamodb_session.options.OPTIONS`, the one place
where the options are defined: a row per option with its keyword argument,
config key (one above the other), what a value may be, default and
meaning. Each row is a target,
``option-<keyword>`` (``:ref:`ttl <option-ttl>```).
"""

from __future__ import annotations

import typing as t

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

from flask_dynamodb_session import option_checks, options

if t.TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.util.typing import ExtensionMetadata

#: The checks of options that are durations in seconds.
DURATION_CHECKS = (option_checks.lifetime, option_checks.interval)
UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def duration(seconds: int) -> str:
    """``1209600`` -> ``"14 days"``: the largest unit that divides evenly."""
    for unit, size in UNITS:
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
    raise AssertionError("every whole number of seconds is divisible by 1")


def default_text(option: options.Option) -> str:
    """The default as reStructuredText: a literal, and a duration in words."""
    default = option.default
    if isinstance(default, str):
        return f'``"{default}"``'
    text = f"``{default!r}``"
    if option.check in DURATION_CHECKS and isinstance(default, int) and default:
        text += f" ({duration(default)})"
    return text


def table_lines(all_options: t.Iterable[options.Option]) -> list[str]:
    """The list-table of the options, as lines of reStructuredText."""
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 30 22 13 35",
        "   :class: dynamodb-session-options",
        "",
        "   * - Keyword argument and config key",
        "     - Accepts",
        "     - Default",
        "     - Meaning",
    ]
    for option in all_options:
        lines += [
            f"   * - .. _option-{option.name}:",
            "",
            f"       | ``{option.name}``",
            f"       | ``{option.key}``",
            f"     - {option.accepts}",
            f"     - {default_text(option)}",
            f"     - {option.doc}",
        ]
    return lines


class OptionsTable(SphinxDirective):
    """``.. dynamodb-session-options::``: the table of every option."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        self.env.note_dependency(options.__file__)
        source = f"<options of {options.__name__}>"
        content = StringList(table_lines(options.OPTIONS), source=source)
        container = nodes.container()
        self.state.nested_parse(content, self.content_offset, container)
        return list(container.children)


def setup(app: Sphinx) -> ExtensionMetadata:
    app.add_directive("dynamodb-session-options", OptionsTable)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
