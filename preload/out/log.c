/* log.c: the log destination (see log.h). Only raw system calls: usable anywhere.
 * The program owns every descriptor number: a log descriptor that the program closed or
 * replaced is recognised by its file identity and never written to or closed again. */
#include "out/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "base/fa.h"
#include "base/procfs.h"
#include "track/fdtrack.h"
#include "base/fmt.h"
#include "base/ownfd.h"
#include "base/process.h"

static const char *path_template; /* NULL: stderr/stdout */
static int stdio_fd = 2;
static int text_format; /* format=text: a note line may go into the log itself */

/* What stdout and stderr were at start-up (device, inode, type): a daemon that closes 0-2
 * and opens its data files gets them as 0, 1, 2, and a record written to "stderr" then
 * would land in its data. A descriptor that is no longer what we were given is never
 * written to (records for it are counted as dropped: there is nowhere safe to say so). */
static struct stdio_id {
    int known; /* 0: closed at start-up (or never looked at): never written */
    dev_t dev;
    ino_t ino;
    mode_t type;
} stdio_id[3];
static int stdio_looked; /* at fa_log_init, or at the first diagnostic if that came first */

static void stdio_remember(int fd)
{
    struct stat st;
    memset(&st, 0, sizeof st);
    stdio_id[fd].known = syscall(SYS_fstat, fd, &st) == 0;
    stdio_id[fd].dev = st.st_dev;
    stdio_id[fd].ino = st.st_ino;
    stdio_id[fd].type = st.st_mode & S_IFMT;
}

void fa_log_take_stdio(void)
{
    stdio_remember(1);
    stdio_remember(2);
    stdio_looked = 1;
}

/* 1 when fd (1 or 2) is what it was at start-up; its stat in *st. */
static int stdio_same(int fd, struct stat *st)
{
    if (!stdio_looked) {
        stdio_remember(1);
        stdio_remember(2);
        stdio_looked = 1;
    }
    const struct stdio_id *id = &stdio_id[fd];
    return id->known && syscall(SYS_fstat, fd, st) == 0 && st->st_dev == id->dev && st->st_ino == id->ino &&
           (st->st_mode & S_IFMT) == id->type;
}

/* Records not written because the log would have blocked (a pipe or FIFO that nobody
 * reads), in this process, and how many of them a note has said (the fork note's
 * log_records_dropped: the count rides on the next record that gets through). */
static unsigned long dropped, dropped_said;
static FA_TLS unsigned long note_carries; /* said by the record this thread writes next */
static pid_t log_failed_pid; /* pid that already said it could not open the file */
/* A relative log_path made absolute at start-up: a daemon that moves to "/" and closes
 * every descriptor must reopen the same file, not a new one in its new directory. */
static char absolute_template[2048];

void fa_log_init(const struct fa_options *o)
{
    if (strcmp(o->log_path, "stderr") == 0) stdio_fd = 2;
    else if (strcmp(o->log_path, "stdout") == 0) stdio_fd = 1;
    else path_template = o->log_path;
    text_format = o->format == FA_FORMAT_TEXT;
    fa_log_take_stdio();
    if (!path_template || path_template[0] == '/') return;
    long n = syscall(SYS_getcwd, absolute_template, sizeof absolute_template); /* length with the NUL */
    /* An unreachable or very long cwd: stay relative. */
    if (n <= 1 || absolute_template[0] != '/' || (size_t)n + strlen(path_template) + 1 >= sizeof absolute_template)
        return;
    struct fa_buf b;
    fa_buf_fixed(&b, absolute_template, sizeof absolute_template);
    b.len = (size_t)n - 1;
    if (b.len > 1) fa_putc(&b, '/');
    fa_puts(&b, path_template);
    fa_buf_terminate(&b);
    path_template = absolute_template;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        long r = syscall(SYS_write, fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return;
        p += r;
        n -= (size_t)r;
    }
}

/* A write to a pipe or socket whose reader is gone raises SIGPIPE, and one past
 * RLIMIT_FSIZE raises SIGXFSZ: either would kill the program. Block both for the write,
 * and swallow the one our write caused (not one that was pending before). Returns the
 * write's errno (0 when all was written). */
static unsigned long block_write_signals(unsigned long *old)
{
    unsigned long set = 1UL << (SIGPIPE - 1) | 1UL << (SIGXFSZ - 1), pending = 0;
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, old, sizeof set);
    syscall(SYS_rt_sigpending, &pending, sizeof pending);
    return pending;
}

static void unblock_write_signals(unsigned long old, unsigned long pending, int e)
{
    unsigned long ours = e == EPIPE ? 1UL << (SIGPIPE - 1) : e == EFBIG ? 1UL << (SIGXFSZ - 1) : 0;
    if (ours && !(pending & ours)) {
        struct timespec zero = {0, 0};
        syscall(SYS_rt_sigtimedwait, &ours, NULL, &zero, sizeof ours);
    }
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof old);
}

static int write_guarded(int fd, const char *p, size_t n)
{
    unsigned long old, pending = block_write_signals(&old);
    errno = 0;
    write_all(fd, p, n);
    int e = errno;
    unblock_write_signals(old, pending, e);
    return e;
}


/* The process whose log reached the file-size limit: it writes no more records (a child
 * opens a file of its own, or finds the shared one full again). */
static pid_t log_full_pid;

/* 1 when n more bytes at fd's write position would pass RLIMIT_FSIZE: such a record is
 * not begun (every line of the log stays whole). */
static int past_fsize_limit(int fd, const struct stat *st, size_t n, unsigned long long *limit)
{
    unsigned long long rl[2]; /* the kernel's struct rlimit64: current, maximum */
    if (!S_ISREG(st->st_mode) || syscall(SYS_prlimit64, 0, RLIMIT_FSIZE, NULL, rl) != 0) return 0;
    *limit = rl[0];
    if (rl[0] == ~0ULL) return 0;
    long flags = syscall(SYS_fcntl, fd, F_GETFL);
    long long pos = flags >= 0 && (flags & O_APPEND) ? (long long)st->st_size : (long long)syscall(SYS_lseek, fd, 0, SEEK_CUR);
    return pos >= 0 && (unsigned long long)pos + n > rl[0];
}

/* The log is full: stop writing it in this process, and say so once on stderr when
 * stderr is not the log itself. */
static void log_is_full(int fd, const struct stat *st, unsigned long long limit)
{
    struct stat err;
    log_full_pid = fa_getpid();
    if (fd == 2 || (syscall(SYS_fstat, 2, &err) == 0 && err.st_dev == st->st_dev && err.st_ino == st->st_ino)) return;
    char line[200];
    struct fa_buf b;
    fa_buf_fixed(&b, line, sizeof line);
    fa_puts(&b, "forkaudit: the log reached the file-size limit (RLIMIT_FSIZE ");
    fa_put_dec(&b, (long)limit);
    fa_puts(&b, " bytes): no more records from this process");
    fa_buf_terminate(&b);
    fa_diag_stderr(line, NULL);
}

/* Expands %p to the pid; appends .<pid> when the template has no %p. */
static void expand(char *out, size_t cap, pid_t pid)
{
    struct fa_buf b;
    int had_pid = 0;
    fa_buf_fixed(&b, out, cap);
    for (const char *s = path_template; *s; s++) {
        if (s[0] == '%' && s[1] == 'p') {
            fa_put_dec(&b, pid);
            had_pid = 1;
            s++;
        } else {
            fa_putc(&b, *s);
        }
    }
    if (!had_pid) {
        fa_putc(&b, '.');
        fa_put_dec(&b, pid);
    }
    fa_buf_terminate(&b);
}

static int is_log_file(int fd, struct stat *st)
{
    return fd >= 0 && syscall(SYS_fstat, fd, st) == 0 && st->st_dev == fa_proc.log_dev && st->st_ino == fa_proc.log_ino;
}

/* 1 when n bytes fit in the pipe or FIFO `fd` now (its size less what is queued); 1 too
 * when the kernel does not say. */
static int fits_in_pipe(int fd, size_t n)
{
    int queued = 0;
    long size = syscall(SYS_fcntl, fd, F_GETPIPE_SZ);
    if (size <= 0 || syscall(SYS_ioctl, fd, FIONREAD, &queued) != 0) return 1;
    return queued >= 0 && (size_t)queued + n <= (size_t)size;
}

/* Says once per process why the log file is not used; the records go to stderr. `number`
 * is printed after `why` when >= 0; -1 - errno names that error (fa_put_errno). */
static void refuse_log_file(pid_t pid, const char *path, const char *why, long number)
{
    if (log_failed_pid == pid) return;
    static const char head[] = "forkaudit: cannot use log file '";
    char tail[200];
    struct fa_buf b;
    log_failed_pid = pid;
    fa_buf_fixed(&b, tail, sizeof tail);
    fa_puts(&b, "': ");
    fa_puts(&b, why);
    if (number >= 0) fa_put_dec(&b, number);
    if (number < -1) fa_put_errno(&b, (int)(-1 - number)); /* -1 - errno: the error named */
    fa_puts(&b, "; writing to stderr instead\n");
    /* One writev, the path not copied: this may run on a small signal stack. */
    struct iovec iov[3] = {{(void *)head, sizeof head - 1}, {(void *)path, strlen(path)}, {b.p, b.len}};
    struct stat st; /* stderr replaced, or a pipe nobody reads: the line is not said */
    if (!stdio_same(2, &st) || (S_ISFIFO(st.st_mode) && !fits_in_pipe(2, iov[0].iov_len + iov[1].iov_len + iov[2].iov_len)))
        return;
    unsigned long old, pending = block_write_signals(&old);
    long r = syscall(SYS_writev, 2, iov, 3);
    unblock_write_signals(old, pending, r < 0 ? errno : 0);
}

static int open_log(pid_t pid, int slot)
{
    char path[sizeof absolute_template + 24];
    expand(path, sizeof path, pid);
    /* 0600: records show paths and stacks of the program, for its owner only.
     * O_NOFOLLOW: never write through a symlink someone planted at the log path.
     * O_NONBLOCK: a FIFO planted there must not block the program, in open or in write. */
    long fd = syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
    int e = errno;
    fa_ownfd_section_fd(slot, fd);
    struct stat st;
    if (fd < 0) {
        if (e == ELOOP) refuse_log_file(pid, path, "it is a symbolic link (not followed)", -1);
        else refuse_log_file(pid, path, "open failed: ", -1 - e);
        return -1;
    }
    if (syscall(SYS_fstat, fd, &st) != 0) {
        syscall(SYS_close, fd);
        refuse_log_file(pid, path, "fstat failed: ", -1 - errno);
        return -1;
    }
    /* Another user's file (planted in a shared directory to collect our records, or to
     * make us write where they cannot) is not appended to. */
    if (st.st_uid != (uid_t)syscall(SYS_geteuid)) {
        syscall(SYS_close, fd);
        refuse_log_file(pid, path, "it exists and belongs to another user, uid ", (long)st.st_uid);
        return -1;
    }
    /* O_NONBLOCK is kept: on a FIFO whose reader is idle a record is dropped (and counted)
     * rather than block the program; on a regular file it changes nothing. */
    /* Out of the program's way: its next open gets the number it would without us. */
    fa_ownfd_section_fd(slot, -1); /* moving: both numbers exist for a moment */
    fd = fa_fd_move_high((int)fd);
    fa_ownfd_section_fd(slot, fd);
    fa_proc.log_dev = st.st_dev;
    fa_proc.log_ino = st.st_ino;
    fa_fdtrack_mark_auditor((int)fd);
    return (int)fd;
}

/* Spins while another thread opens the log: an open is a few system calls. */
#define LOG_OPENING (-2)

static pid_t log_opener; /* the thread opening the log while log_fd is LOG_OPENING */

static int log_fd_for(pid_t pid)
{
    struct stat st;
    for (;;) {
        int fd = __atomic_load_n(&fa_proc.log_fd, __ATOMIC_ACQUIRE);
        if (fd == LOG_OPENING) {
            /* A signal handler of ours interrupted this very thread's open: waiting would
             * never end. The record goes to stderr instead. */
            if (__atomic_load_n(&log_opener, __ATOMIC_ACQUIRE) == fa_gettid()) return -1;
            syscall(SYS_sched_yield);
            continue;
        }
        if (fd >= 0 && fa_proc.log_pid == pid && is_log_file(fd, &st)) return fd;
        /* Not open in this process, or the program closed or replaced it: reopen (never
         * close: the number may be the program's now). */
        if (!__atomic_compare_exchange_n(&fa_proc.log_fd, &fd, LOG_OPENING, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            continue;
        __atomic_store_n(&log_opener, fa_gettid(), __ATOMIC_RELEASE);
        /* Fenced against other threads' forks until the log is known as ours (their
         * children close it then), and left out of their listings meanwhile. */
        int slot = fa_ownfd_section_begin(1);
        int nfd = open_log(pid, slot);
        __atomic_store_n(&log_opener, 0, __ATOMIC_RELEASE);
        fa_proc.log_pid = pid;
        __atomic_store_n(&fa_proc.log_fd, nfd < 0 ? -1 : nfd, __ATOMIC_RELEASE);
        fa_ownfd_section_end(slot);
        return nfd;
    }
}

/* Writes a record to a pipe or FIFO without ever blocking: not begun when it does not fit
 * (EAGAIN; whole lines only), and through a descriptor of our own with O_NONBLOCK when
 * `fd`'s open file description is blocking. That description is the program's (stderr
 * shared with it and its children: file status flags belong to the description), so its
 * flags are never changed; /proc/self/fd/N opens a new description of the same pipe.
 * Without /proc (or a descriptor to spare), the record is written to `fd` when it fits:
 * only a writer racing for the same room can then make it wait. */
static int write_pipe(int fd, const struct stat *st, const char *p, size_t n)
{
    if (!fits_in_pipe(fd, n)) return EAGAIN;
    long flags = syscall(SYS_fcntl, fd, F_GETFL);
    if (flags >= 0 && (flags & O_NONBLOCK)) return write_guarded(fd, p, n);
    char path[40];
    fa_proc_fd_path(fd, path, sizeof path);
    long own = fa_ownfd_openat(AT_FDCWD, path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    struct stat ost;
    if (own >= 0 && (syscall(SYS_fstat, own, &ost) != 0 || ost.st_dev != st->st_dev || ost.st_ino != st->st_ino)) {
        fa_ownfd_close(own);
        own = -1;
    }
    int e = write_guarded(own >= 0 ? (int)own : fd, p, n);
    if (own >= 0) fa_ownfd_close(own);
    return e;
}

static void count_dropped(void)
{
    __atomic_add_fetch(&dropped, 1, __ATOMIC_RELAXED);
    note_carries = 0; /* the note was not written: its count is still to say */
}

static void written(void)
{
    if (note_carries) __atomic_add_fetch(&dropped_said, note_carries, __ATOMIC_RELAXED);
    note_carries = 0;
}

void fa_log_write(const char *p, size_t n)
{
    int saved = errno;
    int fd = path_template ? log_fd_for(fa_getpid()) : -1;
    struct stat st;
    unsigned long long limit = ~0ULL;
    if (log_full_pid == fa_getpid()) {
        errno = saved;
        return;
    }
    if (fd < 0) {
        fd = stdio_fd;
        if (!stdio_same(fd, &st)) { /* the program's own file now: not ours to write */
            count_dropped();
            errno = saved;
            return;
        }
    } else if (syscall(SYS_fstat, fd, &st) != 0) {
        memset(&st, 0, sizeof st);
    }
    int e = 0;
    if (S_ISFIFO(st.st_mode)) e = write_pipe(fd, &st, p, n);
    else if (past_fsize_limit(fd, &st, n, &limit) || (e = write_guarded(fd, p, n)) == EFBIG) log_is_full(fd, &st, limit);
    if (e == EAGAIN) count_dropped();
    else if (e == 0) written();
    errno = saved;
}

unsigned long fa_log_dropped_unsaid(void)
{
    return __atomic_load_n(&dropped, __ATOMIC_RELAXED) - __atomic_load_n(&dropped_said, __ATOMIC_RELAXED);
}

void fa_log_note_carries(unsigned long n) { note_carries = n; }

void fa_log_at_exit(void)
{
    unsigned long n = fa_log_dropped_unsaid();
    if (!n) return;
    /* On stderr, when it is not the log (a JSON log must stay JSON); into a text log too. */
    if (path_template == NULL && !text_format) return;
    char line[200];
    struct fa_buf b;
    fa_buf_fixed(&b, line, sizeof line);
    fa_puts(&b, "forkaudit: ");
    fa_put_udec(&b, n);
    fa_puts(&b, n == 1 ? " record was" : " records were");
    fa_puts(&b, " dropped: the log (a pipe or FIFO nobody was reading) would have blocked the program");
    fa_buf_terminate(&b);
    note_carries = n;
    fa_diag_stderr(line, NULL);
}

int fa_log_own_fd(void)
{
    struct stat st;
    int fd = __atomic_load_n(&fa_proc.log_fd, __ATOMIC_ACQUIRE);
    /* The identity too: a number the program put a file of its own on (a raw dup2, or
     * close_range and a new open) is the program's, and fd reports must list it. */
    return path_template && fd >= 0 && fa_proc.log_pid == fa_getpid() && is_log_file(fd, &st) ? fd : -1;
}

void fa_log_after_fork_child(void)
{
    struct stat st;
    int fd = fa_proc.log_fd;
    if (fd < 0) return;
    if (is_log_file(fd, &st)) syscall(SYS_close, fd); /* the parent's file, not the child's */
    fa_proc.log_fd = -1;
    dropped = dropped_said = 0; /* the child's own count */
}

void fa_diag_stderr(const char *line, void *ctx)
{
    (void)ctx;
    char buf[4600];
    struct fa_buf b;
    fa_buf_fixed(&b, buf, sizeof buf);
    /* ==PID== like the reports: several processes of a tree may say the same thing */
    for (const char *p = line; *p;) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        fa_puts(&b, "==");
        fa_put_dec(&b, fa_getpid());
        fa_puts(&b, "== ");
        fa_putsn(&b, p, n);
        fa_putc(&b, '\n');
        p += n + (eol ? 1 : 0);
    }
    /* one write: lines of different processes never interleave; never blocking on a pipe */
    struct stat st;
    if (!stdio_same(2, &st)) { /* closed at start-up, or the program's file now */
        note_carries = 0;
        return;
    }
    int e = S_ISFIFO(st.st_mode) ? write_pipe(2, &st, b.p, b.len) : write_guarded(2, b.p, b.len);
    if (e == 0) written();
    else note_carries = 0;
}
