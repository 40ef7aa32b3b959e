/* ownfd.c: see ownfd.h. */
#include "base/ownfd.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/fa.h"

/* Slots: fd + 1 (0: free, OPENING: claimed, its open not returned yet), and the thread
 * that holds it (the address of a thread-local byte: unique among live threads). More
 * than SLOTS at once (never seen: a thread holds at most three) go unrecorded. */
#define SLOTS 64
#define OPENING (-1)
#define CLAIMING (-2) /* taken, its owner not written yet: no descriptor exists yet */
static struct slot {
    int fd;
    const void *owner;
} slots[SLOTS];
static int slots_used; /* high-water mark */

static unsigned long closes; /* see fa_ownfd_closes */
static int busy;    /* opens and closes in progress, every thread */
static int forking; /* forks announced and not yet returned */
static FA_TLS int my_busy;
static FA_TLS int my_forking;
static FA_TLS char me;

/* Bounds on the waits, in milliseconds: an open or close takes microseconds, a fork up to
 * tens of milliseconds (a large address space); a thread stopped or descheduled in the
 * middle must not stop the others, and a program's prepare handler that waits for a lock
 * the opening thread holds must not hang its fork. Past the bound the thread goes on
 * (the child may then inherit one of these descriptors: the old behaviour). */
#define FORK_WAITS_MS 1000
#define OPEN_WAITS_MS 1000

struct deadline {
    struct timespec start;
    int spins;
};

/* One sched_yield; 0 once `ms` have passed since the first call (clock_gettime is
 * async-signal-safe, and read every 16 spins only). */
static int wait_more(struct deadline *d, long ms)
{
    if (d->spins == 0) clock_gettime(CLOCK_MONOTONIC, &d->start);
    if (++d->spins % 16 == 0) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - d->start.tv_sec) * 1000 + (now.tv_nsec - d->start.tv_nsec) / 1000000;
        if (elapsed >= ms) return 0;
    }
    syscall(SYS_sched_yield);
    return 1;
}

static void enter(void)
{
    struct deadline d = {{0, 0}, 0};
    for (int late = 0;;) {
        __atomic_add_fetch(&busy, 1, __ATOMIC_SEQ_CST);
        my_busy++;
        /* A fork from this thread (a signal handler's, or ours) never waits for itself. */
        if (my_forking || late || __atomic_load_n(&forking, __ATOMIC_SEQ_CST) == 0) return;
        my_busy--;
        __atomic_sub_fetch(&busy, 1, __ATOMIC_SEQ_CST);
        while (!late && __atomic_load_n(&forking, __ATOMIC_SEQ_CST) != 0) late = !wait_more(&d, OPEN_WAITS_MS);
    }
}

static void leave(void)
{
    my_busy--;
    __atomic_sub_fetch(&busy, 1, __ATOMIC_SEQ_CST);
}

static struct slot *claim(void)
{
    for (int i = 0; i < SLOTS; i++) {
        int expect = 0;
        if (__atomic_compare_exchange_n(&slots[i].fd, &expect, CLAIMING, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            /* the owner before OPENING: a listing that saw OPENING with the previous
             * owner's address, its own, did not wait (a libunwind pipe was listed) */
            slots[i].owner = &me;
            __atomic_store_n(&slots[i].fd, OPENING, __ATOMIC_RELEASE);
            int used = __atomic_load_n(&slots_used, __ATOMIC_RELAXED);
            while (used < i + 1 && !__atomic_compare_exchange_n(&slots_used, &used, i + 1, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
            }
            return &slots[i];
        }
    }
    return NULL;
}

static long opened(struct slot *sl, long fd)
{
    if (sl) __atomic_store_n(&sl->fd, fd >= 0 ? (int)fd + 1 : 0, __ATOMIC_RELEASE);
    leave();
    return fd;
}

long fa_ownfd_openat(int dir, const char *path, int flags)
{
    int saved = errno;
    enter();
    struct slot *sl = claim();
    long fd = syscall(SYS_openat, dir, path, flags, 0);
    if (fd < 0) saved = errno;
    opened(sl, fd);
    errno = saved;
    return fd;
}

long fa_ownfd_memfd(const char *name, unsigned flags)
{
    int saved = errno;
    enter();
    struct slot *sl = claim();
    long fd = syscall(SYS_memfd_create, name, flags);
    if (fd < 0) saved = errno;
    opened(sl, fd);
    errno = saved;
    return fd;
}

void fa_ownfd_close(long fd)
{
    if (fd < 0) return;
    int saved = errno;
    enter();
    /* Closed before the slot is freed: a fork between the two leaves the child a slot of
     * a number that is not open (closing it there is harmless: no one else could have
     * taken the number inside the fence). */
    syscall(SYS_close, fd);
    int used = __atomic_load_n(&slots_used, __ATOMIC_ACQUIRE);
    for (int i = 0; i < used; i++)
        if (__atomic_load_n(&slots[i].fd, __ATOMIC_ACQUIRE) == fd + 1 && slots[i].owner == &me) {
            __atomic_store_n(&slots[i].fd, 0, __ATOMIC_RELEASE);
            break;
        }
    __atomic_add_fetch(&closes, 1, __ATOMIC_SEQ_CST);
    leave();
    errno = saved;
}

int fa_ownfd_section_begin(int wait)
{
    if (wait) {
        enter();
    } else {
        __atomic_add_fetch(&busy, 1, __ATOMIC_SEQ_CST);
        my_busy++;
    }
    struct slot *sl = claim();
    return sl ? (int)(sl - slots) : -1;
}

void fa_ownfd_section_fd(int slot, long fd)
{
    if (slot >= 0) __atomic_store_n(&slots[slot].fd, fd >= 0 ? (int)fd + 1 : OPENING, __ATOMIC_RELEASE);
}

void fa_ownfd_section_end(int slot)
{
    if (slot >= 0) __atomic_store_n(&slots[slot].fd, 0, __ATOMIC_RELEASE);
    __atomic_add_fetch(&closes, 1, __ATOMIC_SEQ_CST);
    leave();
}

unsigned long fa_ownfd_closes(void) { return __atomic_load_n(&closes, __ATOMIC_SEQ_CST); }

/* 1: fd is in the table; -1: not, but an open is in progress (its number unknown). */
static int lookup(int fd)
{
    int opening = 0;
    int used = __atomic_load_n(&slots_used, __ATOMIC_ACQUIRE);
    for (int i = 0; i < used; i++) {
        int v = __atomic_load_n(&slots[i].fd, __ATOMIC_ACQUIRE);
        if (v == fd + 1) return 1;
        if (v == OPENING && slots[i].owner != &me) opening = 1;
    }
    return opening ? -1 : 0;
}

int fa_ownfd_is_open(int fd)
{
    if (fd < 0) return 0;
    int r = lookup(fd);
    struct deadline d = {{0, 0}, 0};
    while (r < 0 && wait_more(&d, FORK_WAITS_MS)) r = lookup(fd);
    return r > 0;
}

int fa_ownfd_count_above(int fd, int except)
{
    int n = 0;
    int used = __atomic_load_n(&slots_used, __ATOMIC_ACQUIRE);
    for (int i = 0; i < used; i++) {
        int v = __atomic_load_n(&slots[i].fd, __ATOMIC_ACQUIRE) - 1;
        if (v > fd && v != except) n++;
    }
    return n;
}

void fa_ownfd_fork_begin(void)
{
    my_forking++;
    __atomic_add_fetch(&forking, 1, __ATOMIC_SEQ_CST);
    /* This thread's own open in progress (a fork from a signal handler that interrupted
     * it) is not waited for: it cannot end before the handler returns. */
    struct deadline d = {{0, 0}, 0};
    while (__atomic_load_n(&busy, __ATOMIC_SEQ_CST) > my_busy && wait_more(&d, FORK_WAITS_MS)) {
    }
}

void fa_ownfd_fork_end(void)
{
    if (my_forking <= 0) return; /* announced before a fork whose child this is */
    __atomic_sub_fetch(&forking, 1, __ATOMIC_SEQ_CST);
    my_forking--;
}

void fa_ownfd_after_fork_child(void)
{
    /* One thread now: the others' descriptors are closed and their slots freed; this
     * thread's own (a fork from a handler that interrupted an open or a read) are left to
     * the code that holds them, which closes them when the handler returns. */
    int used = slots_used;
    for (int i = 0; i < used; i++) {
        int v = slots[i].fd;
        if (v == 0 || slots[i].owner == &me) continue;
        if (v > 0) syscall(SYS_close, v - 1);
        slots[i].fd = 0;
    }
    if (busy != my_busy) busy = my_busy;
    if (forking) forking = 0;
    if (my_forking) my_forking = 0;
}
