/* log.c: the log destination (see log.h). Only raw system calls: usable anywhere. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fa.h"
#include "fdtrack.h"
#include "fmt.h"
#include "process.h"

static const char *path_template; /* NULL: stderr/stdout */
static int stdio_fd = 2;
static int log_failed_pid; /* pid that already said it could not open the file */

void fa_log_init(const struct fa_options *o)
{
    if (strcmp(o->log_path, "stderr") == 0) stdio_fd = 2;
    else if (strcmp(o->log_path, "stdout") == 0) stdio_fd = 1;
    else path_template = o->log_path;
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

static int open_log(pid_t pid)
{
    char path[1100];
    expand(path, sizeof path, pid);
    /* O_NOFOLLOW: never write through a symlink someone planted at the log path. */
    long fd = syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    /* Out of the program's way: its next open gets the number it would without us. */
    fd = fa_fd_move_high((int)fd);
    if (fd < 0 && log_failed_pid != pid) {
        char msg[1300];
        struct fa_buf b;
        int e = errno;
        log_failed_pid = pid;
        fa_buf_fixed(&b, msg, sizeof msg);
        fa_puts(&b, "forkaudit: cannot open log file '");
        fa_puts(&b, path);
        fa_puts(&b, "' (errno ");
        fa_put_dec(&b, e);
        fa_puts(&b, "); writing to stderr instead\n");
        write_all(2, b.p, b.len);
    }
    return (int)fd;
}

void fa_log_write(const char *p, size_t n)
{
    int saved = errno;
    int fd = stdio_fd;
    if (path_template) {
        pid_t pid = fa_getpid();
        if (fa_proc.log_fd < 0 || fa_proc.log_pid != pid) {
            fa_proc.log_fd = open_log(pid);
            fa_proc.log_pid = pid;
        }
        if (fa_proc.log_fd >= 0) fd = fa_proc.log_fd;
    }
    write_all(fd, p, n);
    errno = saved;
}

int fa_log_own_fd(void)
{
    return path_template && fa_proc.log_pid == fa_getpid() ? fa_proc.log_fd : -1;
}

void fa_log_after_fork_child(void)
{
    if (fa_proc.log_fd >= 0) {
        syscall(SYS_close, fa_proc.log_fd);
        fa_proc.log_fd = -1;
    }
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
    write_all(2, b.p, b.len); /* one write: lines of different processes never interleave */
}
