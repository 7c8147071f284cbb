"""Runs a command as a child subreaper and reports its whole process tree's cost.

    python3 measure_tree.py RESULT.json -- COMMAND...

Orphans the command leaves (ssh ControlPersist masters) are re-parented to this process instead
of init; once the command exits they are terminated and reaped, so their CPU is counted too.
RESULT.json gets the exit code, wall time from start to the command's exit, CPU seconds and the
largest single process's max RSS over the tree (getrusage RUSAGE_CHILDREN).
"""

import ctypes
import json
import os
import resource
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def our_children():
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == me:
                        found.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return found


def main():
    result, cmd = sys.argv[1], sys.argv[3:]
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    # posix_spawn (vfork and exec) rather than fork: a forked copy of this Python process
    # costs tens of milliseconds before the exec, which would be counted as the tool's time.
    # The tool's ru_maxrss still starts at this process's size (about 10 MB) because Linux
    # carries the pre-exec high-water mark over; bench/run also samples the real tree.
    start = time.monotonic()
    pid = os.posix_spawnp(cmd[0], cmd, os.environ)
    _, status, _ = os.wait4(pid, 0)
    wall = time.monotonic() - start
    leftovers = our_children()
    for child in leftovers:
        try:
            os.kill(child, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            reaped, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if reaped == 0:
            time.sleep(0.02)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(result, "w") as f:
        json.dump({"rc": os.waitstatus_to_exitcode(status), "wall_s": wall,
                   "cpu_s": usage.ru_utime + usage.ru_stime, "max_rss_kb": usage.ru_maxrss,
                   "leftover_processes": len(leftovers)}, f)


if __name__ == "__main__":
    main()
