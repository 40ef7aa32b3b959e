/* harness.c: see harness.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#ifndef FA_BUILD_DIR
#error "FA_BUILD_DIR must name the build directory"
#endif

const char *fa_build_path(const char *rel)
{
    static char buf[8][512];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, 512, "%s/%s", FA_BUILD_DIR, rel);
    return p;
}

char *fa_read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return strdup("");
    char *data = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&data, &len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) fwrite(chunk, 1, n, m);
    fclose(f);
    fclose(m);
    return data;
}

static void load_records(struct fa_run *r)
{
    r->records = json_array();
    DIR *d = opendir(r->dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "log.", 4) != 0) continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", r->dir, e->d_name);
        char *text = fa_read_file(path);
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
            json_error_t err;
            json_t *rec = json_loads(line, 0, &err);
            if (!rec) fail_msg("record in %s is not valid JSON (%s): %.200s", path, err.text, line);
            json_array_append_new(r->records, rec);
        }
        free(text);
    }
    closedir(d);
}

static void wait_with_deadline(struct fa_run *r, pid_t pid, int deadline_s)
{
    int status = 0;
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    if (pidfd < 0 || poll(&p, 1, deadline_s * 1000) == 0) {
        r->timed_out = 1;
        kill(-pid, SIGKILL);
    }
    if (pidfd >= 0) close(pidfd);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) {
        r->exited = 1;
        r->status = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        r->signal = WTERMSIG(status);
    }
    /* Descendants (daemon children, ...) must not outlive the test. */
    kill(-pid, SIGKILL);
}

static const char *preload_list; /* fa_run_preloaded's LD_PRELOAD list; NULL: the library alone */

pid_t fa_spawn_audited(struct fa_run *r, const char *const argv[], const char *extra, int *out_fd)
{
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "/tmp/forkaudit-test.XXXXXX");
    if (!mkdtemp(r->dir)) fail_msg("mkdtemp: %s", strerror(errno));
    char opts[1024], out_path[300], err_path[300];
    /* fds=all: these tests read the descriptor listing's mechanics (every descriptor, as
     * a record's payload); a test of the default judgement asks for fds=own. */
    snprintf(opts, sizeof opts, "format=json:fds=all:log_path=%s/log.%%p%s%s", r->dir, extra ? ":" : "", extra ? extra : "");
    snprintf(out_path, sizeof out_path, "%s/stdout", r->dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", r->dir);
    int pfd[2] = {-1, -1};
    if (out_fd && pipe2(pfd, O_CLOEXEC) != 0) fail_msg("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) fail_msg("fork: %s", strerror(errno));
    if (pid == 0) {
        setpgid(0, 0);
        int out = out_fd ? pfd[1] : open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(out, 1);
        dup2(err, 2);
        /* The program starts with 0-2 only, so fd findings are its own. */
        syscall(SYS_close_range, 3, ~0U, 0);
        /* FORKAUDIT_TEST_PRELOAD goes first (a sanitizer runtime for check-asan). */
        const char *first = getenv("FORKAUDIT_TEST_PRELOAD");
        char preload[2400] = "";
        if (first) snprintf(preload, sizeof preload, "%s", first);
        /* The word "forkaudit" in the list stands for the library; an empty list runs unaudited. */
        char copy[1200];
        snprintf(copy, sizeof copy, "%s", preload_list ? preload_list : "forkaudit");
        for (char *item = strtok(copy, ":"); item; item = strtok(NULL, ":")) {
            size_t len = strlen(preload);
            snprintf(preload + len, sizeof preload - len, "%s%s", len ? ":" : "",
                     strcmp(item, "forkaudit") == 0 ? fa_build_path("libforkaudit.so") : item);
        }
        if (!preload[0]) unsetenv("LD_PRELOAD");
        else setenv("LD_PRELOAD", preload, 1);
        if (preload_list && !strstr(preload_list, "forkaudit")) unsetenv("FORKAUDIT_OPTIONS");
        else setenv("FORKAUDIT_OPTIONS", opts, 1);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    setpgid(pid, pid);
    if (out_fd) {
        close(pfd[1]);
        *out_fd = pfd[0];
    }
    return pid;
}

void fa_finish(struct fa_run *r, pid_t pid, const char *extra, int deadline_s)
{
    char out_path[300], err_path[300];
    snprintf(out_path, sizeof out_path, "%s/stdout", r->dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", r->dir);
    wait_with_deadline(r, pid, deadline_s);
    r->out = fa_read_file(out_path);
    r->err = fa_read_file(err_path);
    /* A sanitizer build (make check-asan) reports through the program's stderr. */
    if (strstr(r->err, "AddressSanitizer") || strstr(r->err, "runtime error:") || strstr(r->err, "LeakSanitizer"))
        fail_msg("sanitizer report from the audited program:\n%s", r->err);
    if (!extra || !strstr(extra, "format=text")) load_records(r);
    else r->records = json_array();
}

int fa_run_audited(struct fa_run *r, const char *const argv[], const char *extra, int deadline_s)
{
    pid_t pid = fa_spawn_audited(r, argv, extra, NULL);
    fa_finish(r, pid, extra, deadline_s);
    return 0;
}

int fa_run_preloaded(struct fa_run *r, const char *const argv[], const char *preload, const char *extra, int deadline_s)
{
    preload_list = preload;
    pid_t pid = fa_spawn_audited(r, argv, extra, NULL);
    preload_list = NULL;
    fa_finish(r, pid, extra, deadline_s);
    return 0;
}

int fa_run_plain(struct fa_run *r, const char *const argv[], int deadline_s)
{
    return fa_run_preloaded(r, argv, "", NULL, deadline_s);
}

void fa_assert_same_behaviour(const struct fa_run *plain, const struct fa_run *audited)
{
    if (plain->timed_out || audited->timed_out)
        fail_msg("a run timed out (plain %d, audited %d)", plain->timed_out, audited->timed_out);
    if (plain->exited != audited->exited || plain->status != audited->status || plain->signal != audited->signal)
        fail_msg("exit differs: plain exited=%d status=%d signal=%d, audited exited=%d status=%d signal=%d",
                 plain->exited, plain->status, plain->signal, audited->exited, audited->status, audited->signal);
    if (strcmp(plain->out, audited->out) != 0)
        fail_msg("stdout differs:\n--- plain\n%s\n--- audited\n%s", plain->out, audited->out);
    if (strcmp(plain->err, audited->err) != 0)
        fail_msg("stderr differs:\n--- plain\n%s\n--- audited\n%s", plain->err, audited->err);
}

int fa_wait_for_line(int fd, const char *text, int deadline_s)
{
    char buf[8192];
    size_t len = 0;
    time_t end = time(NULL) + deadline_s;
    while (time(NULL) <= end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 1000) <= 0) continue;
        if (len + 1 >= sizeof buf) len = 0;
        ssize_t n = read(fd, buf + len, sizeof buf - len - 1);
        if (n <= 0) break;
        len += (size_t)n;
        buf[len] = 0;
        if (strstr(buf, text)) return 0;
    }
    buf[len] = 0;
    print_message("did not see \"%s\"; the program wrote:\n%s\n", text, buf);
    return -1;
}

const char *fa_which(const char *prog)
{
    static char found[4][512];
    static int next;
    const char *path = getenv("PATH");
    char *copy = strdup(path ? path : "/usr/bin:/bin");
    char *result = NULL;
    for (char *dir = strtok(copy, ":"); dir && !result; dir = strtok(NULL, ":")) {
        char *p = found[next % 4];
        snprintf(p, 512, "%s/%s", dir, prog);
        if (access(p, X_OK) == 0) {
            result = p;
            next++;
        }
    }
    free(copy);
    return result;
}

void fa_run_free(struct fa_run *r)
{
    json_decref(r->records);
    free(r->out);
    free(r->err);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", r->dir);
    memset(r, 0, sizeof *r);
}

json_t *fa_find_kind(json_t *records, const char *kind, int nth)
{
    size_t i;
    json_t *rec;
    json_array_foreach(records, i, rec)
    {
        const char *k = fa_str(rec, "kind");
        if (k && strcmp(k, kind) == 0 && nth-- == 0) return rec;
    }
    return NULL;
}

int fa_count_kind(json_t *records, const char *kind)
{
    int n = 0;
    while (fa_find_kind(records, kind, n)) n++;
    return n;
}

int fa_frames_have(json_t *frames, const char *name)
{
    size_t i;
    json_t *f;
    json_array_foreach(frames, i, f)
    {
        const char *fn = fa_str(f, "function");
        if (fn && strcmp(fn, name) == 0) return 1;
    }
    return 0;
}

long fa_out_value(const struct fa_run *r, const char *key)
{
    size_t klen = strlen(key);
    for (const char *p = r->out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, key, klen) == 0 && p[klen] == '=') return strtol(p + klen + 1, NULL, 10);
    return -1;
}

long long fa_int(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

const char *fa_str(json_t *obj, const char *key) { return json_string_value(json_object_get(obj, key)); }
