#ifndef SNAPORCH_CLINUX_SHIM_H
#define SNAPORCH_CLINUX_SHIM_H

/* Linux and glibc names that `import Glibc` does not expose to Swift. */
#include <unistd.h>
#include <fcntl.h>
#include <spawn.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <malloc.h>
#include <sys/socket.h>
#include <sys/prctl.h>

extern int pipe2(int pipefd[2], int flags);
extern int syncfs(int fd);
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);
extern int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *actions, const char *path);

/* The control socket of a split-phase run (System/UnixSocket.swift). */
extern int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);
/* SO_PEERCRED fills a `struct ucred` (a GNU name): pid, uid, gid. Returns the peer's uid, or -1. */
static inline long long snaporch_peer_uid(int fd) {
    struct { int pid; unsigned int uid; unsigned int gid; } credentials;
    socklen_t length = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    return credentials.uid;
}

/* FIFREEZE / FITHAW are function-like `_IOWR` macros Swift cannot import. */
static inline unsigned long snaporch_fifreeze(void) { return FIFREEZE; }
static inline unsigned long snaporch_fithaw(void) { return FITHAW; }

/* pidfd_open(2) has no glibc wrapper here; syscall(2) is variadic and not callable from Swift. */
static inline int snaporch_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

/* ioctl(2) with an int argument (FIFREEZE/FITHAW take a dummy int). */
static inline int snaporch_ioctl_noarg(int fd, unsigned long request) { return ioctl(fd, request, 0); }

/* Path walking and descriptor exec (Validate/PathWalk.swift, System/PosixSpawn.swift). O_PATH is a
   GNU name the module may not see; the fallback is the generic value (x86-64, arm64). */
#ifndef O_PATH
#define O_PATH 010000000
#endif
/* openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC): the entry itself, a symlink not followed. */
static inline int snaporch_open_entry(int dirfd, const char *name) {
    return openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

/* mallopt(M_ARENA_MAX, 1): one malloc arena for every thread (M_ARENA_MAX is a macro the module
   may not export). Returns mallopt's 1 on success. */
static inline int snaporch_single_malloc_arena(void) { return mallopt(M_ARENA_MAX, 1); }

/* prctl(PR_SET_NAME): names the calling thread (ps -L, perf, /proc/PID/task/TID/comm); the kernel
   keeps 15 bytes. prctl is variadic, which Swift cannot call. */
static inline int snaporch_name_thread(const char *name) { return prctl(PR_SET_NAME, name, 0, 0, 0); }

#endif
