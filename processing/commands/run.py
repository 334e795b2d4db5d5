"""``backspotter run``: live sessions from sensors to the console, MQTT and the store."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from processing.commands.live_options import DEFAULT_LIFTER, add_output_options, serve

_GROUPS = "lifter_groups"


class _SourceAction(argparse.Action):
    """``--source URL``: belongs to the lifter named before it (or the first one named)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        groups = _groups(namespace)
        if not groups:
            groups.append([None, []])
        groups[-1][1].append(values)


class _LifterAction(argparse.Action):
    """``--lifter NAME``: names the sources given so far, or starts a new lifter."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        groups = _groups(namespace)
        if groups and groups[-1][0] is None:
            groups[-1][0] = values
        else:
            groups.append([values, []])


def _groups(namespace: argparse.Namespace) -> list[list[Any]]:
    """``[[name or None, [urls]], ...]`` being built on the namespace."""
    groups: list[list[Any]] | None = getattr(namespace, _GROUPS, None)
    if groups is None:
        groups = []
        setattr(namespace, _GROUPS, groups)
    return groups


def register(subparsers: Any) -> None:
    """Add the ``run`` subcommand."""
    parser = subparsers.add_parser(
        "run",
        help="live session: count reps, alert on flexion, publish and store",
        description="Stream one or more lifters' sensors through the pipeline; publish MQTT "
        "events, store the session, show a live view and sound a cue on each flexion alert. "
        "Several lifters: --lifter A --source URL [--source URL] --lifter B --source URL. "
        "Ctrl-C ends the sessions cleanly.",
    )
    parser.add_argument(
        "--source",
        action=_SourceAction,
        dest=_GROUPS,
        metavar="URL",
        help="sensor source: ble://ADDRESS?profile=P&role=R, sim://?seed=N, replay://FILE "
        "(repeat for two sensors)",
    )
    parser.add_argument(
        "--lifter",
        action=_LifterAction,
        dest=_GROUPS,
        metavar="NAME",
        help=f"lifter name, used in MQTT topics (default: {DEFAULT_LIFTER})",
    )
    add_output_options(parser)
    parser.set_defaults(func=run)


def lifters_from(groups: Sequence[Sequence[Any]] | None) -> list[tuple[str, tuple[str, ...]]]:
    """``(name, source URLs)`` per lifter; ``ValueError`` when a lifter has no source."""
    if not groups:
        raise ValueError("give at least one --source URL")
    lifters = [(name or DEFAULT_LIFTER, tuple(urls)) for name, urls in groups]
    for name, urls in lifters:
        if not urls:
            raise ValueError(
                f"lifter {name} has no --source (give each lifter's sources after its --lifter)"
            )
    return lifters


def run(args: argparse.Namespace) -> int:
    """Serve the lifters until their sources end or Ctrl-C."""
    try:
        lifters = lifters_from(getattr(args, _GROUPS, None))
    except ValueError as error:
        print(f"backspotter run: {error}", file=sys.stderr)
        return 2
    return serve(args, lifters, args.cue or "bell")
