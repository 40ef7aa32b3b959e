/* pysites.c: see pysites.h. The interpreter releases the GIL around the calls that open
 * descriptors, so several threads may be here at once: a thread takes a slot with a
 * compare-and-swap on its sequence number (odd while it is written), and a reader (the
 * fork audit) sees a slot being written as none. */
#include "track/pysites.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/fa.h"
#include "base/ownfd.h"
#include "base/process.h"
#include "base/python.h"
#include "base/fmt.h"
#include "base/pyframes.h"

static struct slot {
    unsigned seq;
    int fd;
    dev_t dev;
    ino_t ino;
    struct fa_pysite site;
} slots[FA_PYSITES];
static unsigned cursor;
static unsigned walks; /* stacks dumped so far: each costs a write per frame line */

#define KEPT_BEFORE_OWN 4 /* frames kept above the program's own one */
#define DUMP_BYTES 8192    /* the innermost frames of the dump: the runtime's frames are there */

/* Pipes, sockets and the like, and files open for writing: what a fork record can warn of.
 * Not accepted connections and dups (a server makes one per request; a dup's original
 * has its site), and not read-only files (every import opens some). */
static int worth_a_walk(int fd, const struct stat *st, const char *opened_by)
{
    if (!strncmp(opened_by, "accept", 6) || !strncmp(opened_by, "dup", 3)) return 0;
    if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode) && !S_ISCHR(st->st_mode) && !S_ISBLK(st->st_mode)) return 1;
    if (S_ISDIR(st->st_mode)) return 0;
    long fl = syscall(SYS_fcntl, fd, F_GETFL);
    return fl >= 0 && (fl & O_ACCMODE) != O_RDONLY;
}

/* "  File \"F\", line N in FUNC\n", as faulthandler writes it, when it fits. */
static void put_frame(struct fa_buf *b, const struct fa_py_frame *f)
{
    size_t mark = b->len;
    fa_puts(b, "  File \"");
    fa_putsn(b, f->file, f->file_len);
    fa_puts(b, "\", line ");
    fa_put_dec(b, f->line);
    fa_puts(b, " in ");
    fa_putsn(b, f->function, f->function_len);
    fa_putc(b, '\n');
    if (b->truncated) {
        b->len = mark;
        b->truncated = 0;
    }
}

/* The kept frames: from the innermost down to the program's own frame (at most
 * KEPT_BEFORE_OWN above it; then the own frame after them), or the innermost few. */
static void keep_frames(struct fa_pysite *site, const struct fa_py_frame *f, int n)
{
    struct fa_buf b;
    fa_buf_fixed(&b, site->text, sizeof site->text);
    fa_puts(&b, "Stack (most recent call first):\n");
    int own = -1;
    site->runtime = 0;
    for (int i = 0; i < n; i++) {
        if (own < 0 && f[i].own) own = i;
        if (fa_pyframes_in_process_machinery(&f[i])) site->runtime = 1;
    }
    int upto = own >= 0 ? own : KEPT_BEFORE_OWN;
    for (int i = 0; i < n && i <= upto && i < KEPT_BEFORE_OWN; i++) put_frame(&b, &f[i]);
    if (own >= KEPT_BEFORE_OWN) put_frame(&b, &f[own]);
    site->len = (unsigned)b.len;
}

/* 1 when the slot's descriptor is closed, or its number now names another file. */
static int slot_is_stale(const struct slot *sl)
{
    struct stat st;
    return !sl->site.len || syscall(SYS_fstat, sl->fd, &st) != 0 || st.st_dev != sl->dev || st.st_ino != sl->ino;
}

/* A slot taken for writing (its sequence number made odd), or NULL when none could be:
 * the first stale one from the cursor on, else the one at the cursor (the oldest placed). */
static struct slot *take_slot(unsigned *seq)
{
    for (int tries = 0; tries <= FA_PYSITES; tries++) {
        struct slot *sl = &slots[__atomic_fetch_add(&cursor, 1, __ATOMIC_RELAXED) % FA_PYSITES];
        unsigned s = __atomic_load_n(&sl->seq, __ATOMIC_ACQUIRE);
        if (s & 1 || (tries < FA_PYSITES && !slot_is_stale(sl))) continue;
        if (__atomic_compare_exchange_n(&sl->seq, &s, s + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            *seq = s + 1;
            return sl;
        }
    }
    return NULL;
}

int fa_pysites_capture(int fd, const struct stat *st, const char *opened_by, const void *call_site)
{
    const struct fa_py_api *py = fa_python();
    if (FA_LIKELY(!py) || !fa_python_code(call_site) || !py->dump_one || !py->is_initialized()) return 0;
    /* No GIL needed: the interpreter released it around the call, but this thread's own
     * frames cannot change while it is here, and faulthandler's writer reads them as it
     * does from a signal handler. */
    void *ts = py->this_thread_state();
    if (!ts) return 0;
    if (syscall(SYS_getpid) != fa_getpid()) return 0; /* a vfork child: its memory is the parent's */
    int saved = errno;
    int id = 0;
    if (__atomic_load_n(&walks, __ATOMIC_RELAXED) >= FA_PYSITES_WALKS || !worth_a_walk(fd, st, opened_by)) goto out;
    __atomic_fetch_add(&walks, 1, __ATOMIC_RELAXED);
    char text[DUMP_BYTES];
    long mfd = fa_ownfd_memfd("forkaudit-python", MFD_CLOEXEC);
    if (mfd < 0) goto out;
    py->dump_one((int)mfd, ts);
    long got = syscall(SYS_pread64, mfd, text, sizeof text, 0L);
    fa_ownfd_close(mfd);
    if (got <= 0) goto out;
    struct fa_py_frame f[64];
    int n = fa_pyframes_parse(text, (size_t)got, 0, fa_python_stdlib_dir_kept(), f, 64);
    if (!n) goto out;
    unsigned seq;
    struct slot *sl = take_slot(&seq);
    if (!sl) goto out;
    sl->fd = fd;
    sl->dev = st->st_dev;
    sl->ino = st->st_ino;
    keep_frames(&sl->site, f, n);
    __atomic_store_n(&sl->seq, seq + 1, __ATOMIC_RELEASE);
    id = (int)(sl - slots) + 1;
out:
    errno = saved;
    return id;
}

int fa_pysites_get(int id, int fd, dev_t dev, ino_t ino, struct fa_pysite *out)
{
    if (id <= 0 || id > FA_PYSITES) return 0;
    const struct slot *sl = &slots[id - 1];
    unsigned seq = __atomic_load_n(&sl->seq, __ATOMIC_ACQUIRE);
    if (seq & 1 || sl->fd != fd || sl->dev != dev || sl->ino != ino) return 0;
    out->len = sl->site.len < sizeof out->text ? sl->site.len : sizeof out->text;
    out->runtime = sl->site.runtime;
    memcpy(out->text, sl->site.text, out->len);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return __atomic_load_n(&sl->seq, __ATOMIC_RELAXED) == seq;
}
