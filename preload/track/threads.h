/* threads.h: the registry of threads the auditor knows, one slot per thread, each with
 * its creation site and the set of locks it holds. */
#ifndef FA_THREADS_H
#define FA_THREADS_H

#include <pthread.h>

#include "base/fa.h"
#include "base/process.h"
#include "track/heldlocks.h"

#define FA_MAX_THREADS 1024
#define FA_PREPARE_TAKEN_MAX 32

enum fa_slot_state {
    FA_SLOT_FREE = 0,
    FA_SLOT_LIVE = 1, /* claimed by a thread that runs (or is being created) */
    FA_SLOT_GONE = 2, /* in a forked child: a thread of the parent that the child lacks */
};

/* Members ordered so little padding is left before the cache-aligned held set. */
struct fa_thread {
    int state;           /* enum fa_slot_state, changed atomically */
    pid_t tid;           /* kernel tid; 0 while the thread is being created */
    unsigned long self;  /* its pthread_t (CPython names threads by it), 0 until bound */
    void *start_routine; /* NULL for threads not made through pthread_create */
    void *start_arg;
    uintptr_t stack_low; /* lowest address of its stack (with stack_signal), 0: unknown */
    int ncreated;
    int in_prepare;      /* > 0 inside another library's atfork prepare handler */
    int nprepare_taken;  /* locks taken by prepare handlers during the current fork */
    unsigned long long prepare_ran; /* trampolines (atfork.h) that ran during this fork */
    uintptr_t created_at[FA_MAX_FRAMES];
    const void *prepare_taken[FA_PREPARE_TAKEN_MAX];
    struct fa_heldset held;
};

extern struct fa_thread fa_threads[FA_MAX_THREADS];
/* Slots ever used: the table is scanned up to here. */
extern int fa_threads_used;
/* Threads that found the table full and are not tracked. */
/* Threads alive without a slot (the table was full), from `threads`, the number of the
 * process's threads a /proc/self/task listing found: that less the live slots; 0 while
 * no claim has failed. */
unsigned long fa_threads_untracked_now(long threads);
/* Slots in state GONE: threads of an ancestor process, whose held locks this process
 * inherited locked. */
extern int fa_threads_gone;
/* Binary semaphores initialised while their registry (interpose_locks.c) was full: their
 * waits and posts are not tracked. */
extern unsigned long fa_semaphores_untracked;

/* Creates the key whose destructor frees a thread's slot; call once at start-up. */
void fa_threads_init(void);
/* The calling thread's slot, registering it on first use; NULL when the table is full. */
struct fa_thread *fa_thread_current(void);
/* Reserves a slot for a thread about to be created; NULL when the table is full. */
struct fa_thread *fa_thread_claim(void);
/* Makes `t` the calling thread's slot (first thing a new thread does). */
void fa_thread_bind(struct fa_thread *t);
void fa_thread_release(struct fa_thread *t);
/* 1 when thread `tid` released its slot lately (it is exiting: its TLS destructors ran). */
int fa_thread_exited_recently(pid_t tid);
/* In a forked child: every other slot becomes GONE, the caller's tid is refreshed. */
void fa_threads_after_fork_child(void);


#endif
