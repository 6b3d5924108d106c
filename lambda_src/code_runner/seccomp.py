"""The sandbox's seccomp filter: a default-deny **allow-list** of the system calls CPython and the harness
need, per architecture (x86_64, aarch64); everything else fails with EPERM.

A deny-list reopens with every new kernel feature (io_uring created AF_INET sockets although
``socket(AF_INET)`` was filtered); an allow-list does not. Not on the list, so refused: io_uring_*,
rt_sigqueueinfo / rt_tgsigqueueinfo, pidfd_*, unshare, setns, bpf, perf_event_open, keyctl / add_key /
request_key, userfaultfd, mount and its relatives (fsopen, move_mount, ...), module loading, kexec, ptrace,
process_vm_*, clone / fork / execve (no processes, no threads), setsid / setpgid (nothing leaves the
group the runner kills), memfd_create, shm*, msg*, sem*, prctl, chroot, mknod, chown. Restricted by
argument: ``socket`` and ``socketpair`` only with AF_UNIX (no network); ``kill``, ``tkill``, ``tgkill`` and
``prlimit64`` only on this process (its pid, or 0: itself / its group). A syscall from another ABI (32-bit
on x86_64, x32) kills the process.

This module is standard library only and defines no names the harness does not expect: the runner prepends
its source to the harness's when it starts a sandbox (``code_runner.sandbox``), so the filter is built
inside the sandbox, before any of the model's code runs, by code the model never gets to replace.
"""

import os
import struct

#: AUDIT_ARCH_* of each supported machine (``uname -m``).
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}

#: The allowed system calls by name -> number, per architecture (x86_64: <asm/unistd_64.h>; aarch64: the
#: generic table, <asm-generic/unistd.h>). ``clone3`` is answered ENOSYS (libc then tries clone: EPERM).
SYSCALLS = {
    "x86_64": {
        "read": 0,
        "write": 1,
        "readv": 19,
        "writev": 20,
        "pread64": 17,
        "pwrite64": 18,
        "preadv": 295,
        "pwritev": 296,
        "preadv2": 327,
        "pwritev2": 328,
        "open": 2,
        "openat": 257,
        "close": 3,
        "close_range": 436,
        "stat": 4,
        "fstat": 5,
        "lstat": 6,
        "newfstatat": 262,
        "statx": 332,
        "statfs": 137,
        "fstatfs": 138,
        "lseek": 8,
        "mmap": 9,
        "mprotect": 10,
        "munmap": 11,
        "mremap": 25,
        "brk": 12,
        "madvise": 28,
        "mincore": 27,
        "msync": 26,
        "rt_sigaction": 13,
        "rt_sigprocmask": 14,
        "rt_sigreturn": 15,
        "rt_sigpending": 127,
        "rt_sigtimedwait": 128,
        "rt_sigsuspend": 130,
        "sigaltstack": 131,
        "ioctl": 16,
        "access": 21,
        "faccessat": 269,
        "faccessat2": 439,
        "pipe": 22,
        "pipe2": 293,
        "select": 23,
        "pselect6": 270,
        "poll": 7,
        "ppoll": 271,
        "epoll_create": 213,
        "epoll_create1": 291,
        "epoll_ctl": 233,
        "epoll_wait": 232,
        "epoll_pwait": 281,
        "epoll_pwait2": 441,
        "eventfd2": 290,
        "sched_yield": 24,
        "sched_getaffinity": 204,
        "sched_getparam": 143,
        "sched_getscheduler": 145,
        "dup": 32,
        "dup2": 33,
        "dup3": 292,
        "nanosleep": 35,
        "clock_nanosleep": 230,
        "clock_gettime": 228,
        "clock_getres": 229,
        "gettimeofday": 96,
        "time": 201,
        "getitimer": 36,
        "setitimer": 38,
        "alarm": 37,
        "pause": 34,
        "getpid": 39,
        "getppid": 110,
        "gettid": 186,
        "getuid": 102,
        "geteuid": 107,
        "getgid": 104,
        "getegid": 108,
        "getgroups": 115,
        "getpgrp": 111,
        "getpgid": 121,
        "getsid": 124,
        "getresuid": 118,
        "getresgid": 120,
        "getrlimit": 97,
        "setrlimit": 160,
        "getrusage": 98,
        "times": 100,
        "sysinfo": 99,
        "uname": 63,
        "umask": 95,
        "getcwd": 79,
        "chdir": 80,
        "fchdir": 81,
        "mkdir": 83,
        "mkdirat": 258,
        "rmdir": 84,
        "rename": 82,
        "renameat": 264,
        "renameat2": 316,
        "link": 86,
        "linkat": 265,
        "unlink": 87,
        "unlinkat": 263,
        "symlink": 88,
        "symlinkat": 266,
        "readlink": 89,
        "readlinkat": 267,
        "chmod": 90,
        "fchmod": 91,
        "fchmodat": 268,
        "truncate": 76,
        "ftruncate": 77,
        "fallocate": 285,
        "fsync": 74,
        "fdatasync": 75,
        "flock": 73,
        "fcntl": 72,
        "getdents": 78,
        "getdents64": 217,
        "utimensat": 280,
        "futex": 202,
        "set_robust_list": 273,
        "get_robust_list": 274,
        "set_tid_address": 218,
        "rseq": 334,
        "arch_prctl": 158,
        "getrandom": 318,
        "exit": 60,
        "exit_group": 231,
        "wait4": 61,
        "waitid": 247,
        "restart_syscall": 219,
        "fadvise64": 221,
        "getcpu": 309,
        "membarrier": 324,
        "copy_file_range": 326,
        "sendfile": 40,
        "splice": 275,
        "tee": 276,
        "connect": 42,
        "bind": 49,
        "listen": 50,
        "accept": 43,
        "accept4": 288,
        "sendto": 44,
        "recvfrom": 45,
        "sendmsg": 46,
        "recvmsg": 47,
        "shutdown": 48,
        "getsockname": 51,
        "getpeername": 52,
        "setsockopt": 54,
        "getsockopt": 55,
        "kill": 62,
        "tkill": 200,
        "tgkill": 234,
        "prlimit64": 302,
        "socket": 41,
        "socketpair": 53,
        "clone3": 435,
    },
    "aarch64": {
        "read": 63,
        "write": 64,
        "readv": 65,
        "writev": 66,
        "pread64": 67,
        "pwrite64": 68,
        "preadv": 69,
        "pwritev": 70,
        "preadv2": 286,
        "pwritev2": 287,
        "openat": 56,
        "close": 57,
        "close_range": 436,
        "fstat": 80,
        "newfstatat": 79,
        "statx": 291,
        "statfs": 43,
        "fstatfs": 44,
        "lseek": 62,
        "mmap": 222,
        "mprotect": 226,
        "munmap": 215,
        "mremap": 216,
        "brk": 214,
        "madvise": 233,
        "mincore": 232,
        "msync": 227,
        "rt_sigaction": 134,
        "rt_sigprocmask": 135,
        "rt_sigreturn": 139,
        "rt_sigpending": 136,
        "rt_sigtimedwait": 137,
        "rt_sigsuspend": 133,
        "sigaltstack": 132,
        "ioctl": 29,
        "faccessat": 48,
        "faccessat2": 439,
        "pipe2": 59,
        "pselect6": 72,
        "ppoll": 73,
        "epoll_create1": 20,
        "epoll_ctl": 21,
        "epoll_pwait": 22,
        "epoll_pwait2": 441,
        "eventfd2": 19,
        "sched_yield": 124,
        "sched_getaffinity": 123,
        "sched_getparam": 121,
        "sched_getscheduler": 120,
        "dup": 23,
        "dup3": 24,
        "nanosleep": 101,
        "clock_nanosleep": 115,
        "clock_gettime": 113,
        "clock_getres": 114,
        "gettimeofday": 169,
        "getitimer": 102,
        "setitimer": 103,
        "getpid": 172,
        "getppid": 173,
        "gettid": 178,
        "getuid": 174,
        "geteuid": 175,
        "getgid": 176,
        "getegid": 177,
        "getgroups": 158,
        "getpgid": 155,
        "getsid": 156,
        "getresuid": 148,
        "getresgid": 150,
        "getrlimit": 163,
        "setrlimit": 164,
        "getrusage": 165,
        "times": 153,
        "sysinfo": 179,
        "uname": 160,
        "umask": 166,
        "getcwd": 17,
        "chdir": 49,
        "fchdir": 50,
        "mkdirat": 34,
        "renameat": 38,
        "renameat2": 276,
        "linkat": 37,
        "unlinkat": 35,
        "symlinkat": 36,
        "readlinkat": 78,
        "fchmod": 52,
        "fchmodat": 53,
        "truncate": 45,
        "ftruncate": 46,
        "fallocate": 47,
        "fsync": 82,
        "fdatasync": 83,
        "flock": 32,
        "fcntl": 25,
        "getdents64": 61,
        "utimensat": 88,
        "futex": 98,
        "set_robust_list": 99,
        "get_robust_list": 100,
        "set_tid_address": 96,
        "rseq": 293,
        "getrandom": 278,
        "exit": 93,
        "exit_group": 94,
        "wait4": 260,
        "waitid": 95,
        "restart_syscall": 128,
        "getcpu": 168,
        "membarrier": 283,
        "copy_file_range": 285,
        "sendfile": 71,
        "splice": 76,
        "tee": 77,
        "connect": 203,
        "bind": 200,
        "listen": 201,
        "accept": 202,
        "accept4": 242,
        "sendto": 206,
        "recvfrom": 207,
        "sendmsg": 211,
        "recvmsg": 212,
        "shutdown": 210,
        "getsockname": 204,
        "getpeername": 205,
        "setsockopt": 208,
        "getsockopt": 209,
        "kill": 129,
        "tkill": 130,
        "tgkill": 131,
        "prlimit64": 261,
        "socket": 198,
        "socketpair": 199,
        "clone3": 435,
        "fadvise64": 223,
    },
}

#: Allowed only with AF_UNIX as the first argument (the domain).
UNIX_ONLY = ("socket", "socketpair")
#: Allowed only when the first argument (a pid, tid or tgid) is this process, or 0 (itself).
OWN_PROCESS_ONLY = ("kill", "tkill", "tgkill", "prlimit64")
_SPECIAL = (*UNIX_ONLY, *OWN_PROCESS_ONLY, "clone3")

EPERM = 1
ENOSYS = 38
AF_UNIX = 1

_LD_W_ABS, _JEQ_K, _JGE_K, _RET_K = 0x20, 0x15, 0x35, 0x06
_ALLOW, _KILL_PROCESS, _ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
_ARG0 = 16  # offsetof(struct seccomp_data, args[0]) (low word on little-endian)


def allowed_syscalls(arch):
    """The names a program may call on ``arch`` (the allow-list, argument-checked ones included)."""
    return sorted(set(SYSCALLS[arch]) - {"clone3"})


def bpf_program(arch, pid):
    """The filter for ``arch`` as (code, jt, jf, k) instructions; ``pid`` is the only process it may signal."""
    nrs = SYSCALLS[arch]
    deny = _RET_K, 0, 0, _ERRNO | EPERM
    prog = [(_LD_W_ABS, 0, 0, 4), (_JEQ_K, 1, 0, AUDIT_ARCH[arch]), (_RET_K, 0, 0, _KILL_PROCESS)]
    prog.append((_LD_W_ABS, 0, 0, 0))  # A = the syscall number
    if arch == "x86_64":
        prog += [(_JGE_K, 0, 1, 0x40000000), (_RET_K, 0, 0, _KILL_PROCESS)]  # the x32 ABI
    for name, nr in nrs.items():
        if name not in _SPECIAL:
            prog += [(_JEQ_K, 0, 1, nr), (_RET_K, 0, 0, _ALLOW)]
    prog += [(_JEQ_K, 0, 1, nrs["clone3"]), (_RET_K, 0, 0, _ERRNO | ENOSYS)]
    for name in UNIX_ONLY:  # args[0] == AF_UNIX, or EPERM
        prog += [
            (_JEQ_K, 0, 4, nrs[name]),
            (_LD_W_ABS, 0, 0, _ARG0),
            (_JEQ_K, 0, 1, AF_UNIX),
            (_RET_K, 0, 0, _ALLOW),
            deny,
        ]
    own = pid & 0xFFFFFFFF
    for name in OWN_PROCESS_ONLY:  # args[0] == pid or 0, or EPERM
        prog += [
            (_JEQ_K, 0, 5, nrs[name]),
            (_LD_W_ABS, 0, 0, _ARG0),
            (_JEQ_K, 2, 0, own),
            (_JEQ_K, 1, 0, 0),
            deny,
            (_RET_K, 0, 0, _ALLOW),
        ]
    prog.append(deny)  # the default: not on the list
    return prog


def install_seccomp():
    """Install the filter on this process (no new privileges first); "" or why it could not be."""
    arch = os.uname().machine
    if arch not in SYSCALLS:
        return f"no seccomp filter on {arch}: the program's system calls are not restricted"
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        prog = bpf_program(arch, os.getpid())
        raw = b"".join(struct.pack("HBBI", *ins) for ins in prog)
        buf = ctypes.create_string_buffer(raw, len(raw))
        fprog = struct.pack("HxxxxxxP", len(prog), ctypes.addressof(buf))
        fbuf = ctypes.create_string_buffer(fprog, len(fprog))
        if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
            return f"prctl(NO_NEW_PRIVS) failed: errno {ctypes.get_errno()}: no seccomp filter"
        if libc.prctl(22, 2, fbuf, 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
            return f"seccomp filter refused: errno {ctypes.get_errno()}: the program's system calls are not restricted"
    except Exception as exc:
        return f"no seccomp filter: {exc}"
    return ""
