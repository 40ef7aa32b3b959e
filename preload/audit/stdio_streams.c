/* stdio_streams.c: capture, at a fork, the C stdio streams whose buffers still hold output
 * (stdio-unflushed-at-fork): parent and child will each write those bytes when they
 * flush. glibc's stream list is read without its lock (see fa_capture_streams);
 * nothing here locks, allocates or calls stdio. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "audit/stdio_streams.h"
#include "base/fmt.h"
#include "base/procfs.h"
#include "track/fdtrack.h"
#include "track/threads.h"

/* glibc exports the head of its list of open streams (struct _IO_FILE_plus *, whose first
 * member is the FILE). Weak: without it there is nothing to read. (glibc itself uses a
 * hidden alias: a program that names _IO_list_all gets a copy of it, by copy relocation,
 * that stays as it was at start-up; only code that plays with libio's insides does.) */
extern FILE *_IO_list_all __attribute__((weak));
/* The three standard streams' own FILEs (stdin, stdout, stderr point at them at start-up). */
extern struct _IO_FILE _IO_2_1_stdin_ __attribute__((weak)), _IO_2_1_stdout_ __attribute__((weak)),
    _IO_2_1_stderr_ __attribute__((weak));

/* glibc's _flags bits (libio/libio.h, unchanged since libio became glibc's): the high half
 * of _flags is a magic number, our layout guard. */
#define IO_MAGIC 0xFBAD0000u
#define IO_MAGIC_MASK 0xFFFF0000u
#define IO_UNBUFFERED 0x0002
#define IO_NO_WRITES 0x0008
#define IO_LINKED 0x0080
#define IO_LINE_BUF 0x0200

/* The first pointers of glibc's struct _IO_wide_data (libio/libio.h), in this order: a
 * wide-oriented stream (_mode > 0) buffers in there, counted in wide characters. */
enum { WIDE_READ_PTR, WIDE_READ_END, WIDE_READ_BASE, WIDE_WRITE_BASE, WIDE_WRITE_PTR, WIDE_WRITE_END, WIDE_BUF_BASE,
       WIDE_BUF_END, WIDE_POINTERS };

/* Copies n bytes at `src` into `dst`. With another thread in the process, a stream may be
 * fclose'd (unlinked, then freed) while the list is read, and freed memory may be gone:
 * then each copy is made by process_vm_readv on ourselves, which returns EFAULT instead
 * of faulting (and a kernel or seccomp filter that refuses it leaves the list unread).
 * A process with no other thread (`direct`) reads plainly: nothing frees a stream under
 * it (a signal handler that forks interrupts fclose before its unlink or after it, never
 * with the stream freed and still linked). Returns 0 when all n bytes were read. */
static int read_memory(void *dst, const void *src, size_t n, int direct)
{
    if (direct) {
        memcpy(dst, src, n);
        return 0;
    }
    return fa_read_memory(dst, (uintptr_t)src, n);
}

/* The output `f` holds that is not written yet (glibc's __fpending, on the copy), 0 when
 * none or the pointers do not make sense (caught moving, or not a stream after all). */
static unsigned long pending_output(const FILE *f, int *wide, int direct)
{
    *wide = f->_mode > 0;
    if (!*wide) {
        if (f->_IO_write_base < f->_IO_buf_base || f->_IO_write_ptr <= f->_IO_write_base ||
            f->_IO_write_ptr > f->_IO_buf_end)
            return 0;
        return (unsigned long)(f->_IO_write_ptr - f->_IO_write_base);
    }
    wchar_t *w[WIDE_POINTERS];
    if (read_memory(w, f->_wide_data, sizeof w, direct)) return 0;
    if (w[WIDE_WRITE_BASE] < w[WIDE_BUF_BASE] || w[WIDE_WRITE_PTR] <= w[WIDE_WRITE_BASE] ||
        w[WIDE_WRITE_PTR] > w[WIDE_BUF_END])
        return 0;
    return (unsigned long)(w[WIDE_WRITE_PTR] - w[WIDE_WRITE_BASE]);
}

void fa_stream_describe_target(struct fa_snap_stream *st)
{
    char path[40];
    fa_proc_fd_path(st->fd, path, sizeof path);
    struct stat sb;
    if (syscall(SYS_fstat, st->fd, &sb) != 0) { /* closed behind the stream's back */
        st->type = "closed";
        return;
    }
    long r = syscall(SYS_readlinkat, AT_FDCWD, path, st->target, sizeof st->target - 1);
    st->target[r > 0 ? r : 0] = 0;
    st->type = fa_fd_type(st->target, sb.st_mode);
    const struct fa_fd_origin *o = fa_fdtrack_lookup(st->fd, sb.st_dev, sb.st_ino);
    if (!o || !o->opened_by) return;
    st->opened_by = o->opened_by;
    st->nframes = o->nframes;
    memcpy(st->frames, o->frames, (size_t)o->nframes * sizeof st->frames[0]);
}

static const char *standard_name(const FILE *fp)
{
    if (fp == stdout) return "stdout";
    if (fp == stderr) return "stderr";
    if (fp == stdin) return "stdin";
    return NULL;
}

static void add_stream(struct fa_snapshot *s, const FILE *fp, const FILE *f, unsigned long pending, int wide)
{
    for (int i = 0; i < s->nstreams; i++)
        if (s->streams[i].file == fp) return; /* met twice: the list changed under the walk */
    if (s->nstreams >= FA_MAX_STREAMS) {
        s->streams_dropped++;
        return;
    }
    struct fa_snap_stream *st = &s->streams[s->nstreams++];
    memset(st, 0, sizeof *st);
    st->file = fp;
    st->name = standard_name(fp);
    st->fd = f->_fileno;
    st->pending = pending;
    st->wide = wide;
    st->buffering = f->_flags & IO_UNBUFFERED ? FA_STREAM_UNBUFFERED
                    : f->_flags & IO_LINE_BUF ? FA_STREAM_LINE_BUFFERED
                                              : FA_STREAM_FULLY_BUFFERED;
    st->buffer_size = f->_IO_buf_end > f->_IO_buf_base ? (unsigned long)(f->_IO_buf_end - f->_IO_buf_base) : 0;
    fa_stream_describe_target(st);
}

/* One walk of the list from its head. Returns the last node read (the list's tail when the
 * walk went through), NULL when the list is empty or the walk stopped (streams_unchecked). */
static const FILE *walk_list(struct fa_snapshot *s, int direct)
{
    const FILE *fp = __atomic_load_n(&_IO_list_all, __ATOMIC_ACQUIRE), *last = NULL;
    for (int walked = 0; fp; walked++) {
        if (walked == FA_STREAMS_WALKED) {
            s->streams_unchecked = FA_STREAMS_TOO_MANY;
            return NULL;
        }
        struct _IO_FILE f;
        if (read_memory(&f, fp, sizeof f, direct) || ((unsigned)f._flags & IO_MAGIC_MASK) != IO_MAGIC ||
            !(f._flags & IO_LINKED)) {
            s->streams_unchecked = FA_STREAMS_UNREADABLE;
            return NULL;
        }
        int wide;
        /* Read-only streams (stdin, most files opened "r") never hold output; streams
         * without a descriptor (fmemopen, open_memstream, fopencookie) flush into memory
         * or callbacks of their own process, which the child has a copy of. */
        unsigned long pending = f._flags & IO_NO_WRITES || f._fileno < 0 ? 0 : pending_output(&f, &wide, direct);
        if (pending) add_stream(s, fp, &f, pending, wide);
        last = fp;
        fp = f._chain;
    }
    return last;
}

/* Whether a walk that ended at `tail` went through the whole list: glibc's list ends with
 * the oldest stream, the static stdin (or stdout, stderr, when the program fclose'd the
 * ones before): a walk that ends elsewhere may have followed a stale pointer into a
 * stream being opened, whose _chain is not set yet. */
static int is_first_stream(const FILE *tail)
{
    return !&_IO_2_1_stdin_ || tail == (const FILE *)&_IO_2_1_stdin_ || tail == (const FILE *)&_IO_2_1_stdout_ ||
           tail == (const FILE *)&_IO_2_1_stderr_;
}

/* Whether no other thread can change the list while it is read: glibc's own flag (no
 * pthread_create yet), or the fork audit's listing found no other thread and the registry
 * has no other live one (a listing that failed, EMFILE, finds none). */
static int alone(const struct fa_snapshot *s)
{
    if (__libc_single_threaded) return 1;
    if (s->nthreads || s->threads_dropped || s->threads_untracked) return 0;
    int used = __atomic_load_n(&fa_threads_used, __ATOMIC_ACQUIRE);
    for (int i = 0; i < used; i++)
        if (__atomic_load_n(&fa_threads[i].state, __ATOMIC_ACQUIRE) == FA_SLOT_LIVE &&
            __atomic_load_n(&fa_threads[i].tid, __ATOMIC_ACQUIRE) != s->tid)
            return 0;
    return 1;
}

/* Walks (and again at most twice) while the list seems to have changed under the walk. */
#define WALKS 3

/* glibc's own fork takes the list lock (_IO_list_lock) after this wrapper has run, and it
 * is not ours to take: another thread may hold it for as long as it is blocked writing a
 * stream (fflush(NULL) holds it across every stream's lock), and a fork from a signal
 * handler may have interrupted its holder. So the list is read as it stands: each node is
 * copied whole (read_memory) and believed only with glibc's magic number and its "linked"
 * flag (a stream freed meanwhile has neither: malloc reuses its first word, and so does a
 * stream being opened in its place); a walk that stopped at one, or that did not end at
 * the list's first stream, is done again, and counted in streams_unchecked when the last
 * try fails too. Stream locks are not taken either: a stream another thread is writing
 * right now shows the count of that moment. */
void fa_capture_streams(struct fa_snapshot *s)
{
    if (!&_IO_list_all) return;
    int direct = alone(s);
    for (int walk = 1;; walk++) {
        s->nstreams = 0;
        s->streams_dropped = 0;
        s->streams_unchecked = FA_STREAMS_READ;
        const FILE *tail = walk_list(s, direct);
        int whole = s->streams_unchecked == FA_STREAMS_READ && (!tail || is_first_stream(tail));
        /* after the last walk, one that ended elsewhere is believed: the program may have
         * fclose'd all three standard streams */
        if (whole || s->streams_unchecked == FA_STREAMS_TOO_MANY || walk == WALKS) break;
    }
    /* The list is newest first: reported oldest first (stdin, stdout, stderr, then files
     * in the order they were opened). */
    for (int i = 0, j = s->nstreams - 1; i < j; i++, j--) {
        struct fa_snap_stream t = s->streams[i];
        s->streams[i] = s->streams[j];
        s->streams[j] = t;
    }
}
