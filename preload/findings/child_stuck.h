/* child_stuck.h: the child-stuck finding: a forked child of a multithreaded parent has
 * been blocked in the same untimed futex wait since the fork (a lock no wrapper saw). The
 * watchdog (audit/watchdog.c) fills the event from its timer's signal handler; this file
 * names the likely culprit, judges (suppressions, the error count) and renders it. */
#ifndef FA_CHILD_STUCK_H
#define FA_CHILD_STUCK_H

#include "audit/snapshot.h"
#include "base/fmt.h"
#include "base/options.h"
#include "findings/child_record.h"
#include "out/pystack.h"
#include "out/symbolize.h"
#include "track/threads.h"

/* The other threads of the parent a child remembers from its fork (audit/watchdog.c), at most. */
#define FA_WATCHDOG_THREADS 64

/* One of them, as the forking thread saw it just before the fork. */
struct fa_remembered_thread {
    pid_t tid;
    char name[16];
    void *start_routine;
    int stack_state; /* enum fa_stack_state */
    int nstack;
    uintptr_t stack[FA_MAX_FRAMES];
};

/* A futex wait a thread is blocked in: the futex word and the operation. */
struct fa_futex_wait {
    uintptr_t uaddr;
    int op;
};

struct fa_child_stuck {
    struct fa_child_origin origin;
    long stuck_for_s;           /* seconds since the fork */
    struct fa_futex_wait wait;  /* what the child waits on */
    const uintptr_t *pc;        /* the child's stack below the watchdog's handler */
    int n;
    const char *py_text;        /* its Python stack (faulthandler's text), py_len bytes: 0 without Python */
    size_t py_len;
    /* the parent's other threads at the fork (none when the memory is another fork's) */
    const struct fa_remembered_thread *parent_threads;
    int nparent_threads;
    unsigned long parent_threads_omitted; /* past FA_WATCHDOG_THREADS (or max_threads) */
    /* the thread registry: its GONE slots are the parent's threads the child lacks, with
     * the tracked locks they held at the fork */
    const struct fa_thread *threads;
    int nthreads;
};

/* The parent's thread most likely to hold what the child waits for. */
struct fa_child_suspect {
    pid_t tid;  /* 0: none */
    int score;  /* 3: holds a tracked lock on the futex word; 2: same function; 1: same library */
    char evidence[320];
};

/* Scores the parent's threads: a tracked lock of a vanished thread whose futex word is the
 * one waited on (3); else a thread whose stack at the fork was in a function of the
 * child's blocked stack outside the C library (2), or (1) in the library the child is
 * blocked in, unless that is the program itself. */
void fa_child_stuck_suspect(const struct fa_child_stuck *e, struct fa_child_suspect *best);
/* C library, loader, auditor and Python interpreter frames: every thread passes through
 * them, they name no culprit. */
int fa_child_stuck_is_system(const struct fa_frame_info *f);

/* Appends the record (JSON or text, per o->format; at most o->max_locks locks; the action
 * per o->on_child_stuck), newline-terminated. `sus` may name no thread. */
void fa_child_stuck_render(struct fa_buf *b, const struct fa_child_stuck *e, const struct fa_child_suspect *sus,
                           const struct fa_options *o);
/* Names the suspect, writes the record (cut below the size limit) and counts the error,
 * unless a suppression matches the child's stack: then returns 0 (no action either). */
int fa_child_stuck_report(const struct fa_child_stuck *e, const struct fa_options *o);

#endif
