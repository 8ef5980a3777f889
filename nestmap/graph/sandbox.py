"""Take away a process's access to files and the network (Linux Landlock), for query workers.

ladybug has no switch that disables its file functions for a connection: its settings
(threads, timeout, home_directory, file_search_path, spill_to_disk, …), its ``Database()``
parameters (buffer_pool_size, max_num_threads, read_only, max_db_size, …) and ``read_only``
mode all leave ``LOAD FROM``, ``COPY … TO`` and the ``read_*`` table functions working. So the
console's worker opens its database first and then asks the kernel to refuse it every later
``open()`` of any file (read or write) and every TCP connection: a query that slipped past the
guard still could not read or write a file. Files already open (the database) keep working.

Needs Linux 5.13+ with Landlock enabled; elsewhere ``forbid_file_access`` says why it could
not, and the guard and the limits remain.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

# The same numbers on every Linux architecture.
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_RULE_PATH_BENEATH = 1
_READ_FILE = 1 << 2
_CREATE_RULESET_VERSION = 1
_PR_SET_NO_NEW_PRIVS = 38
# Filesystem rights known to each ABI version: 13 in v1, REFER in v2, TRUNCATE in v3,
# IOCTL_DEV in v5. Handling a right without granting it anywhere forbids it everywhere.
_FS_RIGHTS = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1}
_FS_RIGHTS_LATEST = (1 << 16) - 1
_NET_BIND_AND_CONNECT_TCP = 0b11  # ABI v4+


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def forbid_file_access(readable: list[str] | None = None) -> str:
    """Forbid this thread, and every thread it starts later, any file access except reading
    the files in ``readable``, and any TCP connection; for good.

    Call it before the engine starts its threads (before ``ladybug.Database``): Landlock
    restricts the calling thread and what it creates, not threads already running (a
    ``COPY … TO`` run by the engine's earlier pool still wrote its file in a trial).

    Returns what was done, e.g. ``"landlock v7: no file or network access"``, or
    ``"unavailable: …"``; never raises."""
    if sys.platform != "linux":
        return f"unavailable: Landlock is Linux-only (this is {platform.system()})"
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        abi = libc.syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
        if abi < 1:
            errno = ctypes.get_errno()
            return f"unavailable: Landlock is not enabled in this kernel (errno {errno})"
        attr = _RulesetAttr(_FS_RIGHTS.get(abi, _FS_RIGHTS_LATEST), 0, 0)
        size = 8
        if abi >= 4:
            attr.handled_access_net = _NET_BIND_AND_CONNECT_TCP
            size = 16
        ruleset = libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
        if ruleset < 0:
            return f"unavailable: landlock_create_ruleset failed (errno {ctypes.get_errno()})"
        for path in readable or []:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                rule = _PathBeneathAttr(_READ_FILE, fd)
                if libc.syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0):
                    return f"unavailable: landlock_add_rule failed (errno {ctypes.get_errno()})"
            finally:
                os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return f"unavailable: no_new_privs refused (errno {ctypes.get_errno()})"
        if libc.syscall(_RESTRICT_SELF, ruleset, 0) != 0:
            return f"unavailable: landlock_restrict_self failed (errno {ctypes.get_errno()})"
        os.close(ruleset)
    except (OSError, AttributeError) as exc:
        return f"unavailable: {exc}"
    network = " or network" if abi >= 4 else ""
    kept = f" except reading {len(readable)} file(s)" if readable else ""
    return f"landlock v{abi}: no file{network} access{kept}"
