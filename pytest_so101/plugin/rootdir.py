"""pytest's rootdir, ini file and cache folder with ``--so101-port /dev/ttyACM0`` as written.

pytest finds its rootdir (and from it the ini file and ``.pytest_cache``) from the command
line's paths *before* it loads plugins: an option it does not know yet is dropped but its
value, written as the next argument, is taken for a path. ``--so101-port /dev/ttyACM0``
exists, so the common ancestor of ``/dev`` and the test paths becomes the rootdir: ``/``
(or ``/dev`` with ``--pyargs``), the cache goes to ``/.pytest_cache`` and the project's ini
file is not found (pytest #1435, labgrid #182: ``--lg-log DIR`` does the same). pytest's
documented way out is ``--so101-port=/dev/ttyACM0``.

Once the plugin is loaded its options are known: when a value of one of them was taken
for a path, the rootdir, the ini file (with its ``addopts``) and the conftest cut-off are
found again from the command line's real paths, before the initial conftests load and
before the cache plugin reads the rootdir. Nothing changes when no so101 option's value
was a path, or when ``--rootdir`` or ``-c`` chose them.
"""

from __future__ import annotations

import copy
import inspect
import itertools
import os

import pytest

from .options import VALUE_FLAGS


def values_taken_for_paths(args: list[str]) -> list[str]:
    """The values of so101 options written as a separate argument that name an existing
    file or folder (what pytest took for a test path)."""
    found = []
    for flag, value in itertools.pairwise(args):
        if flag in VALUE_FLAGS and not value.startswith("-"):
            try:
                if os.path.exists(value):
                    found.append(value)
            except (OSError, ValueError):
                continue
    return found


def _determine_setup(config: pytest.Config, paths: list[str]) -> tuple:
    """pytest's own rootdir and ini search on ``paths`` (its signature differs between
    pytest 8 and 9): (rootpath, inipath, inicfg, ignored ini files)."""
    from _pytest.config.findpaths import determine_setup

    ns = config.known_args_namespace
    given = {"inifile": None, "args": paths, "rootdir_cmd_arg": None,
             "invocation_dir": config.invocation_params.dir,
             "override_ini": getattr(ns, "override_ini", None)}
    accepted = inspect.signature(determine_setup).parameters
    found = determine_setup(**{k: v for k, v in given.items() if k in accepted})
    return (*found, [])[:4]


def correct_rootdir(config: pytest.Config, args: list[str]) -> bool:
    """Find the rootdir and ini file again without the so101 options' values; returns
    whether anything changed. ``args`` (the command line pytest parses next) gets the ini
    file's ``addopts`` when the ini file is a newly found one."""
    ns = config.known_args_namespace
    if getattr(ns, "rootdir", None) or getattr(ns, "inifilename", None) or \
            not values_taken_for_paths(args):
        return False
    rootpath, inipath, inicfg, ignored = _determine_setup(config, list(ns.file_or_dir))
    if (rootpath, inipath) == (config.rootpath, config.inipath):
        return False
    derived_cutoff = str(config.inipath.parent if config.inipath else config.rootpath)
    old_inipath = config.inipath
    config._rootpath, config._inipath = rootpath, inipath
    if hasattr(config, "_inicfg"):
        config._inicfg = inicfg
    else:                                                   # pytest 8
        config.inicfg = inicfg
    if hasattr(config, "_ignored_config_files"):
        config._ignored_config_files = ignored
    config._inicache.clear()
    config._parser.extra_info["rootdir"] = str(rootpath)
    config._parser.extra_info["inifile"] = str(inipath)
    if inipath is not None and inipath != old_inipath:
        addopts = list(config.getini("addopts"))
        if addopts:
            args[:0] = addopts
            config.pluginmanager.consider_preparse(addopts, exclude_only=False)
    config.known_args_namespace = config._parser.parse_known_args(
        args, namespace=copy.copy(config.option))
    cutoff = config.known_args_namespace.confcutdir
    if cutoff is None or str(cutoff) == derived_cutoff:
        config.known_args_namespace.confcutdir = str(inipath.parent if inipath else rootpath)
    return True

