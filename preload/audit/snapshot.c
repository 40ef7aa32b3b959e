/* snapshot.c: a snapshot's memory, one anonymous mapping laid out as struct, tables,
 * render buffer and getdents64 buffer (see snapshot.h); shared by fork audits, state
 * dumps and exec audits. Only mmap, madvise and atomics: it runs in signal handlers and
 * in forked children before exec. */
#include "audit/snapshot.h"

#include <string.h>
#include <sys/mman.h>

#include "base/options.h"
#include "base/process.h"

/* Render buffer of fork audits and state dumps. */
#define FULL_RENDER_BYTES ((size_t)256 * 1024)

static size_t align16(size_t n) { return (n + 15) & ~(size_t)15; }

static size_t fixed_tables_bytes(void)
{
    size_t n = 0;
#define FIXED_TABLE_BYTES(member, type, entries) n += align16((size_t)(entries) * sizeof(type));
    FA_SNAP_FIXED_TABLES(FIXED_TABLE_BYTES)
#undef FIXED_TABLE_BYTES
    return n;
}

size_t fa_snapshot_bytes(const struct fa_snap_layout *l)
{
    return align16(sizeof(struct fa_snapshot)) + align16((size_t)l->max_threads * sizeof(struct fa_snap_thread)) +
           align16((size_t)l->max_locks * sizeof(struct fa_snap_lock)) +
           align16((size_t)l->max_fds * sizeof(struct fa_snap_fd)) +
           fixed_tables_bytes() + align16(l->extra_bytes) + l->render_bytes + FA_SNAP_DIRENT_BYTES;
}

struct fa_snap_layout fa_snapshot_full_layout(void)
{
    struct fa_snap_layout l = {
        .max_threads = fa_opts.max_threads,
        .max_locks = fa_opts.max_locks,
        .max_fds = fa_opts.max_fds,
        .render_bytes = FULL_RENDER_BYTES,
    };
    return l;
}

/* Points the snapshot at `p` (fa_snapshot_bytes(l) bytes) at its tables and buffers. */
static struct fa_snapshot *lay_out(void *p, const struct fa_snap_layout *l, size_t len, int from_arena, char **extra)
{
    struct fa_snapshot *s = p;
    memset(s, 0, sizeof *s);
    char *q = (char *)p + align16(sizeof *s);
    s->map_len = len;
    s->from_arena = from_arena;
    s->threads = (void *)q;
    q += align16((size_t)l->max_threads * sizeof(struct fa_snap_thread));
    s->locks = (void *)q;
    q += align16((size_t)l->max_locks * sizeof(struct fa_snap_lock));
    s->fds = (void *)q;
    q += align16((size_t)l->max_fds * sizeof(struct fa_snap_fd));
#define LAY_OUT_FIXED_TABLE(member, type, entries) \
    s->member = (void *)q;                         \
    q += align16((size_t)(entries) * sizeof(type));
    FA_SNAP_FIXED_TABLES(LAY_OUT_FIXED_TABLE)
#undef LAY_OUT_FIXED_TABLE
    s->py->present = 0; /* not zeroed with the struct: only what says it holds anything */
    if (extra) *extra = q;
    q += align16(l->extra_bytes);
    s->render = q;
    s->render_len = l->render_bytes;
    s->dirents = q + l->render_bytes;
    s->max_threads = l->max_threads;
    s->max_locks = l->max_locks;
    s->max_fds = l->max_fds;
    return s;
}

/* MADV_DONTFORK: the kernel copies nothing into a child and the parent never takes
 * copy-on-write faults on it. */
static void *map_private(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return NULL;
    madvise(p, len, MADV_DONTFORK);
    return p;
}

struct fa_snapshot *fa_snapshot_map(const struct fa_snap_layout *l, char **extra)
{
    size_t len = fa_snapshot_bytes(l);
    void *p = map_private(len);
    return p ? lay_out(p, l, len, 0, extra) : NULL;
}

/* The arena begins with its busy flag, which the parent sets and clears around every fork:
 * on the arena's page (MADV_DONTFORK, never shared with a child) that costs nothing, where
 * in fa_proc it cost a copy-on-write fault per fork. */
#define ARENA_HEAD 64

/* The process's arena, mapped on first use, marked busy; NULL when it is busy (*busy set)
 * or cannot be mapped. */
static void *claim_arena(size_t len, int *busy)
{
    *busy = 0;
    char *arena = __atomic_load_n((char **)&fa_proc.arena, __ATOMIC_ACQUIRE);
    if (!arena) {
        char *m = map_private(ARENA_HEAD + len);
        if (!m) return NULL;
        char *expect = NULL;
        if (__atomic_compare_exchange_n((char **)&fa_proc.arena, &expect, m, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            arena = m;
        } else { /* another thread (or a signal handler) mapped it first */
            munmap(m, ARENA_HEAD + len);
            arena = expect;
        }
    }
    int free_flag = 0;
    if (!__atomic_compare_exchange_n((int *)arena, &free_flag, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
        *busy = 1;
        return NULL;
    }
    return arena + ARENA_HEAD;
}

struct fa_snapshot *fa_snapshot_claim(int arena_only, int *busy)
{
    struct fa_snap_layout l = fa_snapshot_full_layout();
    size_t len = fa_snapshot_bytes(&l);
    int arena_busy;
    void *p = claim_arena(len, &arena_busy);
    if (busy) *busy = arena_busy;
    if (p) return lay_out(p, &l, len, 1, NULL);
    return arena_only ? NULL : fa_snapshot_map(&l, NULL);
}

void fa_snapshot_release(struct fa_snapshot *s)
{
    if (!s) return;
    if (s->from_arena) __atomic_store_n((int *)((char *)s - ARENA_HEAD), 0, __ATOMIC_RELEASE);
    else munmap(s, s->map_len);
}

void fa_snapshot_after_fork_child(void) { fa_proc.arena = NULL; }
