"""Publish a run's ``results.json`` and ``report.html`` as one unit.

The output folder ``DIR`` of ``initspec conform`` looks like::

    DIR/results.json -> latest/results.json    the paths users open (relative symlinks)
    DIR/report.html  -> latest/report.html
    DIR/latest       -> run-20240101T120000-ab12cd
    DIR/run-20240101T120000-ab12cd/            the published pair of one run

A run writes both files into a hidden staging folder ``DIR/.run-<pid>-XXXX`` (never linked, so a
run killed while writing changes nothing users see), renames it ``run-<stamp>-XXXX``, then
replaces the ``latest`` link with one ``rename(2)`` - atomic on POSIX: ``DIR/results.json`` and
``DIR/report.html`` switch to the new pair in the same instant, so DIR's report always renders
DIR's results. A run without a report (``--no-report``, renderer missing or failed) leaves
``DIR/report.html`` dangling rather than showing a report of other results. Older ``run-*``
folders are removed after the switch, and staging folders of dead runs on the next publish.

A folder holding a plain pair from an older initspec (or a report the user wrote over the link)
is migrated first, keeping what it shows at every step: its files are copied into a ``run-*``
folder, ``latest`` points there, then each plain file is replaced by its link.

Where symlinks are unavailable (Windows without the privilege) the files are replaced in place:
the old report is removed first, then ``results.json`` and ``report.html`` are renamed in, so an
interruption leaves new results without a report, never beside an old one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

from ._procs import pid_alive

RESULTS_NAME = "results.json"
REPORT_NAME = "report.html"
#: the published pair, in the order the plain fallback replaces them
NAMES = (RESULTS_NAME, REPORT_NAME)
LATEST = "latest"
RUN_PREFIX = "run-"
STAGING_PREFIX = ".run-"


@contextlib.contextmanager
def staging(out: Path) -> Iterator[Path]:
    """A fresh hidden folder in ``out`` to write a run's files into; removed unless published."""
    path = _fresh_dir(out)
    try:
        yield path
    finally:
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)


def _fresh_dir(out: Path) -> Path:
    """A new staging folder ``out/.run-<pid>-<hex>`` (mode from the umask, like the results,
    which are meant to be shared - unlike ``mkdtemp``'s 0700)."""
    while True:
        path = out / f"{STAGING_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue


def publish(out: Path, staged: Path) -> Path:
    """Make the files in ``staged`` (a :func:`staging` folder) what ``out/results.json`` and
    ``out/report.html`` show, both at once; returns the run's folder."""
    run = out / f"{RUN_PREFIX}{time.strftime('%Y%m%dT%H%M%S')}-{staged.name.rsplit('-', 1)[-1]}"
    os.rename(staged, run)
    try:
        _migrate(out)
        _point(out / LATEST, run.name)
    except (OSError, NotImplementedError):
        if (out / LATEST).is_symlink():
            raise
        _publish_plain(out, run)
        shutil.rmtree(run, ignore_errors=True)
        return out
    _prune(out, keep=run.name)
    return run


def current(out: Path) -> Path | None:
    """The run folder ``out/latest`` points at (None without one)."""
    link = out / LATEST
    return (out / os.readlink(link)) if link.is_symlink() else None


def _point(link: Path, target: str) -> None:
    """Atomically make ``link`` a symlink to ``target`` (a new link renamed over the old one)."""
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, link)


def _ours(out: Path, name: str) -> bool:
    p = out / name
    return p.is_symlink() and os.readlink(p) == os.path.join(LATEST, name)


def _migrate(out: Path) -> None:
    """Turn ``out``'s plain files into links to ``latest`` without changing what they show."""
    foreign = [n for n in NAMES if not _ours(out, n)]
    if not foreign:
        return
    present = [n for n in NAMES if (out / n).exists()]
    if any((out / n).exists() for n in foreign):
        snap = _fresh_dir(out)
        for n in present:
            shutil.copy2(out / n, snap / n)  # follows links: a snapshot of what DIR shows now
        legacy = out / f"{RUN_PREFIX}{time.strftime('%Y%m%dT%H%M%S')}-{snap.name.rsplit('-', 1)[-1]}"
        os.rename(snap, legacy)
        _point(out / LATEST, legacy.name)
    for n in foreign:
        _point(out / n, os.path.join(LATEST, n))


def _publish_plain(out: Path, run: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (out / REPORT_NAME).unlink()
    for n in NAMES:
        if (run / n).exists():
            os.replace(run / n, out / n)


def _prune(out: Path, keep: str) -> None:
    """Remove other ``run-*`` folders and the staging folders of runs that are gone."""
    for p in out.iterdir():
        if p.name.startswith(RUN_PREFIX) and p.name != keep and p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        elif p.name.startswith(STAGING_PREFIX) and p.is_dir():
            pid = p.name[len(STAGING_PREFIX):].split("-", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
                shutil.rmtree(p, ignore_errors=True)
