/* snapshot.h: what the auditor saw at one fork, captured in the parent just before the
 * real fork and rendered into records just after it; also what a state dump and an exec
 * audit see. snapshot.c lays one out in its own mapping. */
#ifndef FA_SNAPSHOT_H
#define FA_SNAPSHOT_H

#include <sys/types.h>

#include "base/fa.h"
#include "track/fdtrack.h"
#include "track/heldlocks.h"
#include "track/pylocks.h"
#include "track/pysites.h"
#include "track/rng.h"

struct fa_snap_thread {
    pid_t tid;
    unsigned long self;   /* its pthread_t, 0 when unknown (Python names threads by it) */
    char name[16];
    void *start_routine;  /* NULL: not made through pthread_create (or before we loaded) */
    void *start_arg;      /* its argument (a std::thread's names the callable) */
    int ncreated;
    uintptr_t created_at[FA_MAX_FRAMES];
    int stack_state;      /* enum fa_stack_state: what the thread's stack at fork is */
    int nstack;
    uintptr_t stack[FA_MAX_FRAMES]; /* its stack at the fork, unwound in a signal handler */
    int stack_note;       /* enum fa_stack_note */
    int stack_syscall;    /* FA_NOTE_KERNEL_PC: the system call it was in */
};

enum fa_stack_state {
    FA_STACK_NONE = 0,     /* not asked (stack_signal=0, or a child of a threaded parent) */
    FA_STACK_OK = 1,
    FA_STACK_NO_ANSWER = 2, /* signal blocked, thread stopped, or too slow */
    FA_STACK_BUSY = 3,     /* not safe to unwind: inside the auditor, on an alternate signal
                              stack, or not started by pthread_create */
    FA_STACK_UNAVAILABLE = 4, /* the signal is the program's, or another fork was collecting */
    FA_STACK_BLOCKED = 5,  /* the thread blocks stack_signal: not sent it */
    FA_STACK_TOO_MANY = 6, /* past the collector's table (threadstacks.c): not asked */
    FA_STACK_TIGHT = 7,    /* too near the end of its stack to unwind without overflowing it */
    /* A lock holder's stack by default (audit/holderstacks.c: a ptrace stop by a helper) */
    FA_STACK_PTRACE_REFUSED = 8, /* the helper's PTRACE_SEIZE failed (EPERM...) */
    FA_STACK_TRACED = 9,   /* the thread is traced already (a debugger, strace) */
    FA_STACK_STOPPED = 10, /* the thread is stopped (SIGSTOP, a debugger): left alone */
    FA_STACK_NO_HELPER = 11, /* no helper process (clone failed) or it did not answer */
    FA_STACK_UNSAFE = 12,  /* stopped, not unwound: libunwind or the loader's lock was busy */
    FA_STACK_GONE = 13,    /* the thread ended before it could be stopped */
};

/* What a stack that is there needs said (stack_note): */
enum fa_stack_note {
    FA_NOTE_NONE = 0,
    FA_NOTE_KERNEL_PC = 1, /* one frame, the kernel's pc: a stop would end its call early */
};

struct fa_snap_lock {
    struct fa_held held;
    pid_t holder;
    int holder_is_forking_thread;
    int holder_gone;      /* holder is a thread of an ancestor process, absent here: the
                           * lock was inherited locked at an earlier fork */
    unsigned long holder_self; /* the holder's pthread_t, 0 when unknown */
    const char *py_kind;  /* a Python lock: "threading.Lock", "threading.RLock", ... (NULL: not known as one) */
    int py_repaired;      /* CPython re-initialises it in the child (audit/python_capture.c) */
    char py_name[96];     /* the Python name it is bound to ("__main__.lock"), "" when none was found */
    int py_taken;         /* where Python took it: s->py_taken[py_taken - 1]; 0 when not known */
};

struct fa_snap_fd {
    int fd;
    int cloexec;
    int flags;            /* O_ACCMODE bits of F_GETFL */
    int append;           /* O_APPEND: every write goes to the end, whoever shares it */
    int sock;             /* enum fa_sock_state for sockets, 0 otherwise */
    unsigned mode;        /* st_mode, 0 when fstat failed */
    long long offset;     /* file offset, -1 when it has none */
    const char *type;
    const char *opened_by;
    int py_site;          /* its Python opening site: s->py_fd_sites[py_site - 1]; 0 when none */
    char target[256];
    int nframes;
    uintptr_t frames[FA_MAX_FRAMES];
};

/* What a socket is, for telling sharing by design from a hazard. */
enum fa_sock_state {
    FA_SOCK_NONE = 0,
    FA_SOCK_LISTENING = 1, /* a listening socket: prefork servers share it on purpose */
    FA_SOCK_CONNECTED = 2, /* a connected stream: one conversation, two processes */
    FA_SOCK_OTHER = 3,     /* datagram, unconnected, or not readable */
    FA_SOCK_PAIR = 4,      /* an end of a socketpair (its peer has no name) */
};

struct fa_snap_rng {
    enum fa_rng_family family;
    struct fa_rng_state state;
};

/* A Python generator a fork child inherits (audit/python_rng.c): numpy's global generator,
 * or a numpy RandomState or Generator or a random.Random bound to a module global of the
 * program's own code. Its state is read, never drawn from: where it was seeded and how
 * often it was drawn from are not known. */
#define FA_PY_RNGS 8
enum fa_py_rng_use {
    FA_PY_RNG_DRAWN = 0,     /* its state moved since it was seeded (drawn from, or set) */
    FA_PY_RNG_SEEDED = 1,    /* seeded and not drawn from since */
    FA_PY_RNG_UNTOUCHED = 2, /* numpy's global generator as numpy seeded it at import (OS
                              * entropy): neither seeded nor drawn from by the program */
    FA_PY_RNG_USE_UNKNOWN = 3, /* a bit generator whose state does not say (PCG64, ...) */
};
struct fa_snap_py_rng {
    enum fa_rng_family family;  /* FA_RNG_NUMPY or FA_RNG_PY_RANDOM */
    int global;                 /* numpy's own module-level generator (np.random.seed, np.random.rand, ...) */
    int use;                    /* enum fa_py_rng_use */
    int seed_known;             /* numpy: an int seed still readable from the state or its SeedSequence */
    unsigned long long seed;
    const char *seeded_by;      /* "numpy.random.seed", "SeedSequence", ..., NULL when not known */
    const char *next_unknown;   /* why the next draw is not known, NULL when it is */
    unsigned long long next_raw; /* the generator's next raw output (getrandbits(32), random_raw()) */
    int raw_bits;               /* its width: 32 (MT19937), 64 (PCG64) */
    unsigned long long next_random; /* the next random(): next_random / 2**53 */
    char type[64];              /* "numpy.random.mtrand.RandomState", "random.Random", ... */
    char bit_generator[24];     /* numpy's bit generator ("MT19937", "PCG64"), "" for random.Random */
    char name[96];              /* the global it is bound to: "__main__.rng", "numpy.random.mtrand._rand" */
};

/* A C stdio stream with output in its buffer at the fork (stdio-unflushed-at-fork), or a
 * Python io stream with bytes pending (`python`, audit/python_io.c). */
enum fa_stream_buffering { FA_STREAM_FULLY_BUFFERED, FA_STREAM_LINE_BUFFERED, FA_STREAM_UNBUFFERED };
struct fa_snap_stream {
    const void *file;         /* the FILE (the Python object): its identity, never read after the capture */
    const char *name;         /* "stdout", "stderr", "stdin" ("sys.stdout", ...), or NULL for another stream */
    int fd;                   /* its descriptor (fileno) */
    int buffering;            /* enum fa_stream_buffering */
    int wide;                 /* wide-oriented: `pending` counts wide characters */
    unsigned long pending;    /* written into the buffer, not yet to the descriptor */
    unsigned long buffer_size;
    const char *type;         /* of the descriptor's target (fa_fd_type), "closed" */
    const char *opened_by;    /* the interposed call that opened the descriptor, or NULL */
    int nframes;
    uintptr_t frames[FA_FD_FRAMES];
    char target[256];         /* the descriptor's /proc/self/fd link */
    int python;               /* a Python io object, not a FILE; then `pending` is the sum of: */
    unsigned long py_text_pending;     /* encoded text the io.TextIOWrapper holds */
    unsigned long py_buffered_pending; /* its io.BufferedWriter's bytes not yet written */
    const char *py_type;      /* "io.TextIOWrapper", "io.BufferedWriter", "io.BufferedRandom" */
    const void *py_buffer;    /* the buffered object (identity only), NULL when none */
    char py_name[96];         /* the module global it is bound to ("__main__.log"), "" for sys.* */
};
#define FA_SNAP_PY_FD_SITES 32 /* descriptors listed with their Python opening site, per fork */

/* Where a held Python lock was taken (track/pylocks.h), innermost frame first. */
struct fa_snap_py_taken {
    int n;
    struct {
        char file[200];
        char function[64];
        long line;
        int own;
    } f[FA_PYLOCK_FRAMES];
};
#define FA_SNAP_PY_LOCK_SITES 32 /* held Python locks with the site where they were taken, per fork */
#define FA_MAX_STREAMS 8      /* streams with pending output listed per fork */
#define FA_STREAMS_WALKED 4096 /* streams looked at per fork, at most */
enum fa_streams_unchecked {
    FA_STREAMS_READ = 0,
    FA_STREAMS_UNREADABLE = 1, /* a node of glibc's list could not be read or failed the
                                * layout check (freed meanwhile): the rest not looked at */
    FA_STREAMS_TOO_MANY = 2,   /* the list was longer than the walk goes */
};
/* The snapshot's tables of a fixed size (a kind's own capture, not bounded by an option):
 * X(member, element type, entries). Each lives in the snapshot's mapping after the option-
 * sized tables (audit/snapshot.c), not in the struct, which is zeroed at every fork; a new
 * one is a line here plus its `struct T *member` and count in the struct. */
#define FA_SNAP_FIXED_TABLES(X)                     \
    X(streams, struct fa_snap_stream, FA_MAX_STREAMS) \
    X(py, struct fa_snap_python, 1)                   \
    X(py_text, char, FA_PY_TEXT_BYTES)              \
    X(py_fd_sites, struct fa_pysite, FA_SNAP_PY_FD_SITES) \
    X(py_taken, struct fa_snap_py_taken, FA_SNAP_PY_LOCK_SITES) \
    X(py_rng, struct fa_snap_py_rng, FA_PY_RNGS)

/* A CPython process at the fork (audit/python_capture.c): every Python thread's stack as
 * faulthandler writes it (py_text: "Thread 0x<pthread_t> ..." sections, see
 * out/pystack.h) and, where the object API could be used, the threads' names. `present`
 * is 0 when the process runs no Python or the forking thread did not hold the GIL. */
#define FA_PY_TEXT_BYTES ((size_t)128 * 1024)
#define FA_PY_NAMES 256
struct fa_py_thread_name {
    unsigned long self; /* pthread_t (threading's ident) */
    char name[64];
};
struct fa_snap_python {
    int present;                /* forked from Python: what follows is this fork's */
    int judged, dumped;         /* the names and locks read; the stacks in py_text */
    unsigned long forking_self; /* pthread_t of the forking thread */
    size_t text_len;            /* bytes of py_text */
    int nnames;
    struct fa_py_thread_name names[FA_PY_NAMES];
    char stdlib_dir[256];       /* the standard library's directory ("/usr/lib/python3.11/"), "" unknown */
};

struct fa_snapshot {
    const char *via;       /* "fork", "atfork" */
    unsigned long seq;     /* 1 for the first fork of this process */
    pid_t pid, ppid, tid;  /* forking process and thread */
    pid_t child;           /* > 0 when known */
    struct fa_stack stack; /* the forking thread's stack */
    const void *stack_call_site; /* set while `stack` is still to be unwound (audit.c) */

    int nthreads, max_threads;
    int registry_cursor;   /* where the next thread is looked for in the registry */
    int pending_cursor;    /* where the next thread not started yet is looked for */
    unsigned long threads_dropped, threads_untracked;
    unsigned long threads_py_runtime; /* left out: multiprocessing's own threads (Python stacks) */
    unsigned long threads_py_idle;    /* left out: threads CPython started, ending (no thread state) */
    unsigned long threads_exiting;    /* left out: past their TLS destructors, still in /proc */
    struct fa_snap_thread *threads;

    int nlocks, max_locks;
    unsigned long locks_dropped, locks_overflow, locks_protected;
    struct fa_snap_lock *locks;

    int nfds, max_fds;
    unsigned long fds_dropped;   /* over max_fds: counted, not listed */
    unsigned long fds_untracked; /* listed ones numbered FA_FD_TRACKED or above: no
                                  * opening site is kept for them */
    unsigned long fds_unchecked; /* exec audits: open descriptors past max_fds leaking ones,
                                  * whose close-on-exec flag was not read */
    struct fa_snap_fd *fds;

    int nrng;
    struct fa_snap_rng rng[FA_RNG_COUNT];
    int npy_rng;                    /* Python generators (rng-at-fork after the libc ones) */
    unsigned long py_rng_dropped;   /* past FA_PY_RNGS */
    struct fa_snap_py_rng *py_rng;  /* FA_PY_RNGS (FA_SNAP_FIXED_TABLES) */
    int rng_moves, rng_first_moved_to; /* suppression's bookkeeping (findings/rng_at_fork.c) */
    unsigned long long rng_moved;

    int nstreams;
    unsigned long streams_dropped; /* with pending output, past FA_MAX_STREAMS */
    int streams_unchecked;         /* enum fa_streams_unchecked: the list not read whole */
    struct fa_snap_stream *streams; /* FA_MAX_STREAMS (FA_SNAP_FIXED_TABLES) */
    int py_fork;                    /* forked from Python with the GIL (audit/python_capture.c) */
    struct fa_snap_python *py;      /* (FA_SNAP_FIXED_TABLES); py->present says if it was captured */
    char *py_text;
    int npy_fd_sites;               /* Python opening sites of listed descriptors */
    unsigned long fds_py_runtime;   /* left out: opened by multiprocessing's own machinery */
    unsigned long fds_inherited;    /* left out: the process had them from its exec (fds=own) */
    unsigned long fds_by_design;    /* left out (verbosity 0): pipes, listening sockets, files
                                     * read-only or append-only, devices... shared on purpose */
    struct fa_pysite *py_fd_sites;  /* FA_SNAP_PY_FD_SITES (FA_SNAP_FIXED_TABLES) */
    int npy_taken;                  /* Python acquisition sites of held locks */
    struct fa_snap_py_taken *py_taken; /* FA_SNAP_PY_LOCK_SITES (FA_SNAP_FIXED_TABLES) */

    unsigned long prepare_unwrapped; /* atfork prepare handlers past the trampolines */
    unsigned long semaphores_untracked; /* binary semaphores the full registry left out */
    int fds_listing_errno; /* why /proc/self/fd could not be listed (EMFILE: the program's
                            * descriptor table is full): descriptors were probed instead */
    unsigned long suppressed;        /* findings dropped by suppression rules */
    int nhandlers;                   /* other libraries' prepare handlers that ran */
    void *handler[64], *handler_dso[64];

    int log_fd;            /* the auditor's own log descriptor, left out of fds-at-fork */
    int fork_stack_shown;  /* text: a record of this fork already showed the fork's stack */
    size_t map_len;        /* the snapshot lives in one anonymous mapping of this size */
    int from_arena;        /* 1: the process's reusable mapping, 0: a temporary one */
    char *render;          /* scratch for rendering records, render_len bytes */
    char *dirents;         /* scratch for getdents64 */
    size_t render_len;

    /* state dumps only: the receiving thread (tid) as a thread entry, its stack in `stack`
     * (stack_state FA_STACK_OK) or why not (FA_STACK_BUSY) */
    struct fa_snap_thread receiver;

    /* exec audits (fds-leaked-at-exec) only: the program about to run, the call ("execve",
     * "posix_spawn", ...); seq, child and via name the fork that made this process, if any */
    const char *exec_path;
    const char *exec_argv0; /* NULL when argv is empty */
    const char *exec_via;
};

/* ------------------------------------------------ its memory (snapshot.c) */

/* The getdents64 buffer of every snapshot (s->dirents). */
#define FA_SNAP_DIRENT_BYTES 4096

/* What one snapshot's mapping holds after the struct: its tables (0 entries: no table),
 * `extra_bytes` for the caller (fa_snapshot_map's *extra), the render buffer, then the
 * getdents64 buffer. A new table of the snapshot gets a count here. */
struct fa_snap_layout {
    int max_threads, max_locks, max_fds;
    size_t extra_bytes;
    size_t render_bytes; /* records larger than this get a temporary mapping (out/record.c) */
};

/* Bytes of the mapping of a snapshot laid out as `l`. */
size_t fa_snapshot_bytes(const struct fa_snap_layout *l);
/* The layout of fork audits and state dumps: every table at its option's size. */
struct fa_snap_layout fa_snapshot_full_layout(void);
/* A zeroed snapshot in a fresh temporary mapping laid out as `l` (MADV_DONTFORK: no child
 * inherits it); *extra (when not NULL) is its `extra_bytes`. NULL when it cannot be mapped.
 * Async-signal-safe. */
struct fa_snapshot *fa_snapshot_map(const struct fa_snap_layout *l, char **extra);
/* A snapshot of the full layout in the process's arena: one mapping reused by every fork,
 * so a fork costs no mmap/munmap and no fresh page faults. When another fork audit or a
 * state dump has the arena (*busy set, if busy is not NULL) or it cannot be mapped: a
 * temporary mapping, or NULL when `arena_only`. Async-signal-safe, never waits. */
struct fa_snapshot *fa_snapshot_claim(int arena_only, int *busy);
/* Gives the snapshot's memory back (the arena is marked free). Not in a child: the memory
 * does not exist there. */
void fa_snapshot_release(struct fa_snapshot *s);
/* In a forked child: the parent's arena is not mapped here (MADV_DONTFORK). Async-signal-safe. */
void fa_snapshot_after_fork_child(void);

#endif
