/* audit.c: capture the fork-time snapshot (threads, held locks, descriptors, RNG state)
 * with system calls and plain memory only, then hand it to the findings stage. */
#include "audit/audit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "audit/python_capture.h"
#include "track/atfork.h"
#include "base/backtrace.h"
#include "track/fdtrack.h"
#include "base/fmt.h"
#include "out/log.h"
#include "out/symbolize.h"
#include "base/options.h"
#include "base/ownfd.h"
#include "base/process.h"
#include "base/procfs.h"
#include "findings/findings.h"
#include "track/threads.h"
#include "audit/python_capture.h"
#include "audit/stdio_streams.h"
#include "audit/holderstacks.h"
#include "audit/threadstacks.h"
#include "audit/watchdog.h"


/* The auditor's descriptors are opened through base/ownfd.h: no other thread's child inherits them. */
static long sys_openat(int dir, const char *path, int flags) { return fa_ownfd_openat(dir, path, flags); }

static void for_each_dirent(struct fa_snapshot *s, const char *path, void (*fn)(const char *, int dirfd, void *))
{
    fa_proc_each_entry(path, s->dirents, FA_SNAP_DIRENT_BYTES, fn, s);
}

/* How many times an entry of another thread's set is read again when its owner changed
 * the set meanwhile (each read takes a few cache misses: the owner, taking and releasing
 * a lock every few tens of nanoseconds, changes it between two reads at times). */
#define ENTRY_READS 64

/* Copies entry `k` of another thread's held set into *out when it is held: read between
 * two loads of the set's word that agree (no count changed, no entry moved meanwhile;
 * see struct fa_heldset). `*w` is the word loaded last; it is updated. Returns 0 when the
 * entry is not held any more (k not below the count of the updated *w) or was never read
 * whole in ENTRY_READS tries. */
static int read_entry(const struct fa_heldset *h, int k, uint64_t *w, struct fa_held *out)
{
    for (int tries = 0; tries < ENTRY_READS; tries++) {
        uint64_t before = *w;
        if (k >= fa_held_word_count(before)) return 0;
        *out = h->e[k];
        __atomic_thread_fence(__ATOMIC_ACQUIRE); /* the copy is read before the word again */
        *w = __atomic_load_n(&h->word, __ATOMIC_ACQUIRE);
        if (*w == before && !(before & FA_HELD_MOVING)) return 1;
    }
    return 0;
}

static void capture_locks(struct fa_snapshot *s)
{
    int used = __atomic_load_n(&fa_threads_used, __ATOMIC_ACQUIRE);
    for (int i = 0; i < used; i++) {
        struct fa_thread *t = &fa_threads[i];
        int state = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
        if (state == FA_SLOT_FREE) continue;
        pid_t tid = __atomic_load_n(&t->tid, __ATOMIC_ACQUIRE);
        if (tid <= 0) continue;
        s->locks_overflow += t->held.overflow;
        /* The forking thread's own set cannot change while it is read (a fork from a
         * signal handler may find it half-way through a change: see fa_held_remove). */
        int own = state == FA_SLOT_LIVE && tid == s->tid;
        uint64_t w = __atomic_load_n(&t->held.word, __ATOMIC_ACQUIRE);
        for (int k = 0; k < fa_held_word_count(w) && k < FA_HELD_MAX; k++) {
            struct fa_held h;
            if (!own && !read_entry(&t->held, k, &w, &h)) {
                if (k >= fa_held_word_count(w)) break; /* released meanwhile */
                s->locks_overflow++; /* held, as far as the count says, but never read whole */
                continue;
            }
            if (own) h = t->held.e[k];
            if (!h.addr || (h.flags & FA_HELD_IN_COND_WAIT) || (own && fa_held_seen_before(&t->held, k, h.addr))) continue;
            if (h.depth == 0) h.depth = 1; /* caught between the count and the removal of its last release */
            if (h.flags & FA_HELD_BY_PREPARE) {
                s->locks_protected++;
                continue;
            }
            if (s->nlocks >= s->max_locks) {
                s->locks_dropped++;
                continue;
            }
            struct fa_snap_lock *l = &s->locks[s->nlocks++];
            l->held = h;
            l->holder = tid;
            l->holder_gone = state == FA_SLOT_GONE;
            l->holder_is_forking_thread = !l->holder_gone && tid == s->tid;
            l->holder_self = __atomic_load_n(&t->self, __ATOMIC_RELAXED);
            l->py_kind = NULL;
            l->py_repaired = 0;
            l->py_name[0] = 0;
        }
    }
}

static void read_comm(int dirfd, const char *tid, char *out, size_t cap)
{
    char path[64];
    size_t n = strlen(tid);
    out[0] = 0;
    if (n > 40) return;
    memcpy(path, tid, n); // NOLINT(bugprone-not-null-terminated-result): the next copy ends it
    memcpy(path + n, "/comm", 6);
    long fd = sys_openat(dirfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    long r = syscall(SYS_read, fd, out, cap - 1);
    fa_ownfd_close(fd);
    if (r < 0) r = 0;
    out[r] = 0;
    if (r > 0 && out[r - 1] == '\n') out[r - 1] = 0;
}

/* A walk of /proc/self/task or /proc/self/fd that stops once the snapshot's list is full:
 * the kernel spends about a microsecond per listed entry (measured: 12-38 ms for 20,000
 * descriptors, the fork itself 0.4 ms), so the rest is counted from the directory's own
 * stat instead: the link count of task/ is 2 + the threads, the size of fd/ the open
 * descriptors (Linux 6.2+; on older kernels, where it is 0, the walk goes on). */
struct walk {
    struct fa_snapshot *s;
    long seen;     /* entries listed so far, every one */
    long last;     /* the highest number listed (entries come in ascending order) */
    int self_seen; /* task/: the forking thread was among them */
};

/* The entries not listed yet, from the directory's stat; -1 when it does not say. */
static long unlisted(int dirfd, const struct walk *w, int task)
{
    struct stat st;
    if (syscall(SYS_fstat, dirfd, &st) != 0) return -1;
    long total = task ? (long)st.st_nlink - 2 : (long)st.st_size;
    return total >= w->seen ? total - w->seen : -1;
}

/* Where the registry says thread `t` came from. */
static void take_origin(struct fa_snap_thread *t, const struct fa_thread *r)
{
    t->start_routine = r->start_routine;
    t->start_arg = r->start_arg;
    t->ncreated = r->ncreated;
    memcpy(t->created_at, r->created_at, sizeof t->created_at);
}

static void add_thread(const char *name, int dirfd, void *ctx)
{
    struct fa_snapshot *s = ctx;
    long tid = fa_proc_number(name);
    if (tid <= 0 || tid == s->tid) return;
    if (s->nthreads >= s->max_threads) {
        s->threads_dropped++;
        return;
    }
    struct fa_snap_thread *t = &s->threads[s->nthreads++];
    t->tid = (pid_t)tid;
    t->start_routine = NULL;
    t->start_arg = NULL;
    t->self = 0;
    t->ncreated = 0;
    t->stack_state = FA_STACK_NONE;
    t->stack_note = FA_NOTE_NONE;
    t->nstack = 0;
    read_comm(dirfd, name, t->name, sizeof t->name);
    /* /proc lists threads in creation order, and slots are mostly claimed in that order
     * too: the search starts after the previous match, one step per thread in the usual
     * case instead of a registry scan (500 threads: 0.33 M instructions before). */
    int used = __atomic_load_n(&fa_threads_used, __ATOMIC_ACQUIRE);
    for (int k = 0; k < used; k++) {
        int i = (s->registry_cursor + k) % used;
        struct fa_thread *r = &fa_threads[i];
        if (__atomic_load_n(&r->state, __ATOMIC_ACQUIRE) != FA_SLOT_LIVE || r->tid != (pid_t)tid) continue;
        take_origin(t, r);
        t->self = r->self;
        s->registry_cursor = i + 1;
        return;
    }
    /* No live slot: a thread past its TLS destructors, still listed for a moment, is
     * nothing the child loses */
    if (fa_thread_exited_recently((pid_t)tid)) {
        s->nthreads--;
        s->threads_exiting++;
        return;
    }
    /* Made by pthread_create just now, not running yet (it binds its slot to its tid when
     * it starts): a claimed slot without a tid, taken in creation order, like /proc's. */
    for (int i = s->pending_cursor; i < used; i++) {
        struct fa_thread *r = &fa_threads[i];
        if (__atomic_load_n(&r->state, __ATOMIC_ACQUIRE) != FA_SLOT_LIVE || __atomic_load_n(&r->tid, __ATOMIC_ACQUIRE) ||
            !r->start_routine)
            continue;
        take_origin(t, r);
        s->pending_cursor = i + 1;
        return;
    }
}

/* Listening, a connected stream, or another socket: two getsockopt and a getpeername. */
static int socket_state(int fd)
{
    int v = 0;
    socklen_t len = sizeof v;
    if (syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v) return FA_SOCK_LISTENING;
    len = sizeof v;
    if (syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_TYPE, &v, &len) != 0 || (v != SOCK_STREAM && v != SOCK_SEQPACKET))
        return FA_SOCK_OTHER;
    struct sockaddr_storage peer;
    len = sizeof peer;
    if (syscall(SYS_getpeername, fd, &peer, &len) != 0) return FA_SOCK_OTHER;
    /* a socketpair's peer has no name: the parent-child channel, shared on purpose */
    return peer.ss_family == AF_UNIX && len <= sizeof(sa_family_t) ? FA_SOCK_PAIR : FA_SOCK_CONNECTED;
}

int fa_audit_add_fd(struct fa_snapshot *s, int dirfd, const char *name, long fd, long fdflags)
{
    if (s->nfds >= s->max_fds) {
        /* Past max_fds only the count matters: no system call per descriptor (but for the
         * auditor's own few), so 20,000 descriptors cost the listing and no more. */
        if (fa_fdtrack_is_auditor((int)fd) || fa_ownfd_is_open((int)fd)) return 0;
        s->fds_dropped++;
        return 0;
    }
    unsigned long first_closes = fa_ownfd_closes();
    struct stat st;
    if (syscall(SYS_fstat, fd, &st) != 0) return 0; /* closed meanwhile */
    const struct fa_fd_origin *o = fa_fdtrack_lookup((int)fd, st.st_dev, st.st_ino);
    if (o && o->opened_by == fa_fd_auditor) return 0;
    if (fa_ownfd_is_open((int)fd)) return 0; /* another thread's audit has it open: not inherited */
    if (S_ISFIFO(st.st_mode) && fa_backtrace_is_unwinder_pipe(st.st_dev, st.st_ino)) return 0;
    if (o && o->opened_by == fa_fd_inherited && fa_opts.fds == FA_FDS_OWN) {
        s->fds_inherited++; /* the shell's or CI runner's leak, not the program's */
        return 0;
    }
    struct fa_snap_fd *f = &s->fds[s->nfds];
    f->py_site = 0;
    if (o && o->py_site) {
        struct fa_pysite site;
        if (fa_pysites_get(o->py_site, (int)fd, st.st_dev, st.st_ino, &site)) {
            if (site.runtime) { /* multiprocessing's pipes and queues: shared with its workers by design */
                s->fds_py_runtime++;
                return 0;
            }
            if (s->npy_fd_sites < FA_SNAP_PY_FD_SITES) {
                s->py_fd_sites[s->npy_fd_sites++] = site;
                f->py_site = s->npy_fd_sites;
            }
        }
    }
    if (fd >= FA_FD_TRACKED) s->fds_untracked++; /* no opening site: above the origin table */
    /* Remembered from an earlier fork while the file is neither renamed nor unlinked (its
     * change time and link count tell); the access mode of an open file description
     * never changes. Saves a readlink and an fcntl per descriptor and fork. */
    const char *known = fa_fdtrack_target(o, &st);
    if (known && o && o->accmode >= 0) { /* known implies o; said for the analyzer */
        memcpy(f->target, known, sizeof f->target);
        f->flags = o->accmode;
    } else {
        long r = syscall(SYS_readlinkat, dirfd, name, f->target, sizeof f->target - 1);
        if (r < 0) return 0;
        f->target[r] = 0;
        long flflags = syscall(SYS_fcntl, fd, F_GETFL);
        f->flags = flflags < 0 ? 0 : (int)flflags & (O_ACCMODE | O_APPEND);
        fa_fdtrack_remember((int)fd, &st, f->flags, f->target);
        o = fa_fdtrack_lookup((int)fd, st.st_dev, st.st_ino);
    }
    f->append = (f->flags & O_APPEND) != 0;
    f->flags &= O_ACCMODE;
    f->fd = (int)fd;
    /* Still open, and not another thread's audit's: asked in this order, with no close of
     * one of those in between, the answer is about the descriptor open now (one seen
     * above may have been closed, its number taken by another audit's next open). */
    for (int tries = 0;; tries++) {
        unsigned long closes = fa_ownfd_closes();
        long now = syscall(SYS_fcntl, fd, F_GETFD); /* close-on-exec can change any time */
        if (now < 0 || fa_ownfd_is_open((int)fd)) return 0;
        /* a section ended since the first look: the log or libunwind's pipe, known now */
        if (closes != first_closes && fa_fdtrack_is_auditor((int)fd)) return 0;
        if (fa_ownfd_closes() == closes || tries == 8) {
            if (fdflags < 0) fdflags = now;
            break;
        }
    }
    f->cloexec = fdflags >= 0 && (fdflags & FD_CLOEXEC);
    /* libunwind's pipe in the making: another thread's first unwind (a stack_signal
     * handler's) makes it close-on-exec, and it is ours only once pipe2 returned to its
     * wrapper; a close-on-exec pipe nobody was seen opening while an unwind runs is it */
    if (S_ISFIFO(st.st_mode) && f->cloexec && !(o && o->opened_by) && __atomic_load_n(&fa_unwinders, __ATOMIC_ACQUIRE) > 0)
        return 0;
    f->mode = st.st_mode;
    f->type = fa_fd_type(f->target, f->mode);
    f->sock = S_ISSOCK(st.st_mode) ? socket_state((int)fd) : FA_SOCK_NONE;
    f->offset = S_ISREG(st.st_mode) ? syscall(SYS_lseek, fd, 0, SEEK_CUR) : -1;
    f->opened_by = o ? o->opened_by : NULL;
    f->nframes = o && o->opened_by ? o->nframes : 0;
    if (f->nframes) memcpy(f->frames, o->frames, (size_t)f->nframes * sizeof f->frames[0]);
    s->nfds++;
    return 1;
}

static int walk_threads(const char *name, int dirfd, void *ctx)
{
    struct walk *w = ctx;
    w->seen++;
    if (fa_proc_number(name) == w->s->tid) w->self_seen = 1;
    add_thread(name, dirfd, w->s);
    if (w->s->nthreads < w->s->max_threads) return 0;
    long rest = unlisted(dirfd, w, 1);
    if (rest < 0) return 0;
    rest -= !w->self_seen; /* the forking thread, when it is among the rest */
    w->s->threads_dropped += (unsigned long)(rest > 0 ? rest : 0);
    return 1;
}

static void add_fd(const char *name, int dirfd, void *ctx)
{
    struct fa_snapshot *s = ctx;
    long fd = fa_proc_number(name);
    if (fd < 3 || fd == dirfd || fd == s->log_fd) return;
    fa_audit_add_fd(s, dirfd, name, fd, -1);
}

static int walk_fds(const char *name, int dirfd, void *ctx)
{
    struct walk *w = ctx;
    struct fa_snapshot *s = w->s;
    long fd = fa_proc_number(name);
    w->seen++;
    if (fd > w->last) w->last = fd;
    add_fd(name, dirfd, s);
    if (s->nfds < s->max_fds) return 0;
    long rest = fa_audit_fds_unlisted(dirfd, w->seen, w->last, s->log_fd);
    if (rest < 0) return 0;
    s->fds_dropped += (unsigned long)rest;
    return 1;
}

/* Without a listing (no descriptor left to open /proc/self/fd: EMFILE), every number
 * below the descriptor limit is asked for instead: one fcntl each, a few milliseconds for
 * 20,000, and only in this rare case. A descriptor above a limit lowered since it was
 * opened is not found. */
#define FA_FD_PROBE_MAX (1L << 20) /* Linux's default fs.nr_open */
static void probe_fds(struct fa_snapshot *s)
{
    unsigned long long lim[2]; /* the kernel's struct rlimit64: current, maximum */
    if (syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, lim) != 0) return;
    long limit = lim[0] > FA_FD_PROBE_MAX ? FA_FD_PROBE_MAX : (long)lim[0];
    char name[40];
    for (long fd = 3; fd < limit; fd++) {
        long flags = syscall(SYS_fcntl, fd, F_GETFD);
        if (flags < 0 || fd == s->log_fd) continue;
        fa_audit_add_fd(s, AT_FDCWD, fa_proc_fd_path(fd, name, sizeof name), fd, flags);
    }
}

long fa_audit_fds_unlisted(int dirfd, long seen, long last, int log_fd)
{
    struct walk w = {NULL, seen, last, 0};
    long rest = unlisted(dirfd, &w, 0);
    if (rest < 0) return -1;
    /* the auditor's own past this point: the directory itself, the log, libunwind's pipe */
    rest -= (dirfd > last) + (log_fd > last && !fa_fdtrack_is_auditor(log_fd)) + fa_fdtrack_own_above((int)last) +
            fa_ownfd_count_above((int)last, dirfd);
    return rest > 0 ? rest : 0;
}

static void capture_rng(struct fa_snapshot *s)
{
    for (int f = 0; f < FA_RNG_COUNT; f++) {
        struct fa_rng_state st = fa_rng[f];
        if (!st.seeded && st.draws == 0) continue;
        s->rng[s->nrng].family = (enum fa_rng_family)f;
        s->rng[s->nrng].state = st;
        s->nrng++;
    }
}

/* 1 once this process said that a fork went unaudited for lack of memory. */
static int said_unaudited;

struct fa_snapshot *fa_audit_begin(const char *via, const void *call_site)
{
    int saved = errno;
    struct fa_snapshot *s = fa_snapshot_claim(0, NULL);
    if (!s) {
        /* Counted as a fork all the same: the child's and later forks' numbers stay true. */
        unsigned long seq = __atomic_add_fetch(&fa_proc.fork_seq, 1, __ATOMIC_RELAXED);
        if (!__atomic_exchange_n(&said_unaudited, 1, __ATOMIC_RELAXED)) {
            struct fa_snap_layout full = fa_snapshot_full_layout();
            fa_findings_unaudited(seq, via, fa_snapshot_bytes(&full), &fa_opts);
        }
        errno = saved;
        return NULL;
    }
    struct fa_thread *self = fa_self;
    s->via = via;
    s->seq = __atomic_add_fetch(&fa_proc.fork_seq, 1, __ATOMIC_RELAXED);
    s->pid = fa_getpid();
    s->tid = self ? self->tid : fa_gettid();
    s->log_fd = fa_log_own_fd();
    /* Most forks report nothing: unwinding each one (libunwind's cache and counters, pages
     * the child then shares copy-on-write) waits for fa_audit_finish. From there the stack
     * is the same: only the auditor's frames lie between, and the unwind drops those. */
    if (call_site) s->stack_call_site = call_site;
    else s->stack.n = fa_backtrace(s->stack.pc, fa_opts.stack_depth, NULL);
    capture_locks(s);
    /* glibc clears __libc_single_threaded for good at the first pthread_create (whoever
     * calls it): while it is set, the listing would only find the forking thread. */
    if (!__libc_single_threaded || fa_threads_used > 1) {
        struct walk w = {s, 0, -1, 0};
        fa_proc_walk("/proc/self/task", s->dirents, FA_SNAP_DIRENT_BYTES, walk_threads, &w);
    }
    fa_thread_stacks_collect(s);
    fa_holder_stacks_collect(s); /* holders not asked by stack_signal: by a ptrace stop */
    fa_watchdog_remember(s);
    /* threads past the registry: those listed (this one too) less the live slots */
    if (s->nthreads || s->threads_dropped)
        s->threads_untracked = fa_threads_untracked_now(s->nthreads + (long)s->threads_dropped + 1);
    s->prepare_unwrapped = fa_prepare_unwrapped;
    s->semaphores_untracked = __atomic_load_n(&fa_semaphores_untracked, __ATOMIC_RELAXED);
    struct walk fds = {s, 0, -1, 0};
    s->fds_listing_errno = fa_proc_walk("/proc/self/fd", s->dirents, FA_SNAP_DIRENT_BYTES, walk_fds, &fds);
    if (s->fds_listing_errno) probe_fds(s);
    capture_rng(s);
    fa_capture_streams(s);
    fa_python_capture_before(s, call_site);
    errno = saved;
    return s;
}

struct fa_snapshot *fa_audit_state(int unwind, uintptr_t restorer, int *busy)
{
    int saved = errno;
    struct fa_snapshot *s = fa_snapshot_claim(1, busy);
    if (!s) {
        errno = saved;
        return NULL;
    }
    struct fa_thread *self = fa_self;
    s->via = "state";
    s->seq = __atomic_load_n(&fa_proc.fork_seq, __ATOMIC_RELAXED);
    s->pid = fa_getpid();
    s->ppid = (pid_t)syscall(SYS_getppid);
    s->tid = self ? self->tid : fa_gettid();
    s->log_fd = fa_log_own_fd();
    struct fa_snap_thread *r = &s->receiver;
    r->tid = s->tid;
    char tidname[24];
    struct fa_buf tb;
    fa_buf_fixed(&tb, tidname, sizeof tidname);
    fa_put_dec(&tb, s->tid);
    fa_buf_terminate(&tb);
    long taskdir = sys_openat(AT_FDCWD, "/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (taskdir >= 0) {
        read_comm((int)taskdir, tidname, r->name, sizeof r->name);
        fa_ownfd_close(taskdir);
    }
    if (self) {
        r->start_routine = self->start_routine;
        r->ncreated = self->ncreated;
        memcpy(r->created_at, self->created_at, sizeof r->created_at);
    }
    r->stack_state = unwind ? FA_STACK_OK : FA_STACK_BUSY;
    if (unwind) {
        s->stack.n = fa_backtrace(s->stack.pc, fa_opts.stack_depth, NULL);
        s->stack.n = fa_backtrace_drop_handler(s->stack.pc, s->stack.n, restorer);
        r->nstack = s->stack.n;
        memcpy(r->stack, s->stack.pc, (size_t)s->stack.n * sizeof r->stack[0]);
    }
    capture_locks(s);
    for_each_dirent(s, "/proc/self/task", add_thread); /* every thread but this one */
    fa_thread_stacks_collect(s);
    if (s->nthreads || s->threads_dropped)
        s->threads_untracked = fa_threads_untracked_now(s->nthreads + (long)s->threads_dropped + 1);
    errno = saved;
    return s;
}

static int taken_by_prepare(const struct fa_thread *self, const void *addr)
{
    for (int i = 0; self && i < self->nprepare_taken && i < FA_PREPARE_TAKEN_MAX; i++)
        if (self->prepare_taken[i] == addr) return 1;
    return 0;
}


void fa_audit_finish(struct fa_snapshot *s, pid_t child)
{
    int saved = errno;
    fa_watchdog_forget(s->tid);
    struct fa_thread *self = fa_self;
    s->child = child;
    /* A lock that an atfork prepare handler took during this fork is protected by that
     * library's own fork handling: not a hazard. */
    int kept = 0;
    for (int i = 0; i < s->nlocks; i++) {
        if (taken_by_prepare(self, s->locks[i].held.addr)) s->locks_protected++;
        else s->locks[kept++] = s->locks[i];
    }
    s->nlocks = kept;
    for (int k = 0; self && k < FA_TRAMPOLINES; k++)
        if (self->prepare_ran & (1ULL << k)) {
            s->handler[s->nhandlers] = (void *)fa_foreign_prepare[k];
            s->handler_dso[s->nhandlers++] = fa_foreign_dso[k];
        }
    /* What only records show, read only when a record may be written. */
    if (fa_findings_fork_may_write(s, &fa_opts)) {
        s->ppid = (pid_t)syscall(SYS_getppid);
        if (s->stack_call_site) s->stack.n = fa_backtrace(s->stack.pc, fa_opts.stack_depth, s->stack_call_site);
        fa_python_capture_after(s);
    }
    /* The parent, after its fork: malloc is safe here, so C++ names are demangled. */
    fa_symbolize_demangle_here(1);
    fa_findings_fork(s, &fa_opts);
    fa_symbolize_demangle_here(0);
    fa_audit_discard(s);
    errno = saved;
}

void fa_audit_cancel(struct fa_snapshot *s)
{
    if (!s) return;
    fa_watchdog_forget(s->tid);
    __atomic_sub_fetch(&fa_proc.fork_seq, 1, __ATOMIC_RELAXED);
    fa_audit_discard(s);
}

void fa_audit_discard(struct fa_snapshot *s) { fa_snapshot_release(s); }

void fa_audit_after_fork_child(void)
{
    /* Snapshot mappings are MADV_DONTFORK: none of them exists in the child. */
    fa_proc.fork_seq = 0;
    said_unaudited = 0;
    fa_snapshot_after_fork_child();
}
