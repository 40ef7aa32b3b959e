/* interpose_exec.c: the exec family and posix_spawn. Just before the real call, the
 * audit lists the descriptors that pass into the new program (fds-leaked-at-exec,
 * execaudit.c). The real call gets exactly the program's arguments, and its result and
 * errno come back unchanged (an exec that fails returns like any call).
 * These wrappers run in forked children between fork and exec: the audit is
 * async-signal-safe. vfork stays unwrapped (its child would return through a wrapper's
 * frame and wreck the parent's stack); an exec in a vfork child is passed straight on. */
#include "intercept/real.h"

#include <stdarg.h>

#include "audit/execaudit.h"

/* A macro so the call site is the exported wrapper's return address into the program. */
#define AUDIT(...) fa_exec_audit(&(const struct fa_exec_call){__VA_ARGS__, .call_site = __builtin_return_address(0)})

FA_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    AUDIT(.via = "execve", .dirfd = AT_FDCWD, .path = path, .argv = argv);
    return FA_REAL(execve)(path, argv, envp);
}

FA_EXPORT int execv(const char *path, char *const argv[])
{
    AUDIT(.via = "execv", .dirfd = AT_FDCWD, .path = path, .argv = argv);
    return FA_REAL(execv)(path, argv);
}

FA_EXPORT int execvp(const char *file, char *const argv[])
{
    AUDIT(.via = "execvp", .dirfd = AT_FDCWD, .path = file, .search = 1, .argv = argv);
    return FA_REAL(execvp)(file, argv);
}

FA_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    AUDIT(.via = "execvpe", .dirfd = AT_FDCWD, .path = file, .search = 1, .argv = argv);
    return FA_REAL(execvpe)(file, argv, envp);
}

FA_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    AUDIT(.via = "fexecve", .dirfd = fd, .path = "", .at_empty_path = 1, .argv = argv);
    return FA_REAL(fexecve)(fd, argv, envp);
}

FA_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
    AUDIT(.via = "execveat", .dirfd = dirfd, .path = path, .at_empty_path = (flags & AT_EMPTY_PATH) != 0, .argv = argv);
    return FA_REAL(execveat)(dirfd, path, argv, envp, flags);
}

/* The real ones are glibc's default versions (GLIBC_2.15), what programs link against. A
 * binary linked before glibc 2.15 (GLIBC_2.2.5 compat versions) would lose, through us, the
 * old fallback of running a script without "#!" with /bin/sh. */
FA_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,
                          const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    AUDIT(.via = "posix_spawn", .dirfd = AT_FDCWD, .path = path, .argv = argv, .actions = actions);
    return FA_REAL(posix_spawn)(pid, path, actions, attr, argv, envp);
}

/* glibc runs popen() and system() through its internal posix_spawn, which no
 * interposer sees: audited here, at the program's call, as the /bin/sh they start. */
FA_EXPORT FILE *popen(const char *command, const char *type)
{
    char *const argv[] = {"sh", "-c", (char *)command, NULL};
    if (command) AUDIT(.via = "popen", .dirfd = AT_FDCWD, .path = "/bin/sh", .argv = argv);
    return FA_REAL(popen)(command, type);
}

FA_EXPORT int system(const char *command)
{
    char *const argv[] = {"sh", "-c", (char *)command, NULL};
    if (command) AUDIT(.via = "system", .dirfd = AT_FDCWD, .path = "/bin/sh", .argv = argv);
    return FA_REAL(system)(command);
}

FA_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions,
                           const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    AUDIT(.via = "posix_spawnp", .dirfd = AT_FDCWD, .path = file, .search = 1, .argv = argv, .actions = actions);
    return FA_REAL(posix_spawnp)(pid, file, actions, attr, argv, envp);
}

/* ---------------------------------------------------------- execl, execlp, execle */

/* glibc's own execl/execlp/execle copy the list into an array on the stack and do what
 * execv/execvp/execve do; so do these, through those real functions. The audit needs the
 * array before the call: up to LIST_MAX arguments it is a fixed one here (2 KiB of
 * stack); a longer list (rare: the list is written out in the program's source) gets an
 * array as long as itself, as in glibc, and goes to the real call unaudited. */
#define LIST_MAX 256

enum list_variant { LIST_EXECL, LIST_EXECLP, LIST_EXECLE };

/* argv[0..n] from the list: n arguments (arg first), then its NULL. Returns execle's envp,
 * which follows the NULL (read only for execle: the others pass nothing more). */
static char *const *fill_list(char **argv, long n, const char *arg, va_list ap, enum list_variant v)
{
    argv[0] = (char *)arg;
    for (long i = 1; i <= n; i++) argv[i] = va_arg(ap, char *); /* the last one read is the NULL */
    return v == LIST_EXECLE ? va_arg(ap, char *const *) : NULL;
}

static int run_list(enum list_variant v, const char *path, char *const argv[], char *const envp[])
{
    switch (v) {
    case LIST_EXECLP: return FA_REAL(execvp)(path, argv);
    case LIST_EXECLE: return FA_REAL(execve)(path, argv, envp);
    default: return FA_REAL(execv)(path, argv);
    }
}

static __attribute__((noinline)) int run_long_list(enum list_variant v, const char *path, long n, const char *arg,
                                                   va_list ap)
{
    char *argv[n + 1];
    char *const *envp = fill_list(argv, n, arg, ap, v);
    return run_list(v, path, argv, envp);
}

static int exec_list(enum list_variant v, const char *path, const char *arg, va_list ap, const void *call_site)
{
    static const char *const via[] = {"execl", "execlp", "execle"};
    va_list walk;
    long n = 0;
    va_copy(walk, ap);
    for (const char *a = arg; a; a = va_arg(walk, const char *)) n++;
    va_end(walk);
    if (n > LIST_MAX) return run_long_list(v, path, n, arg, ap);
    char *argv[LIST_MAX + 1];
    char *const *envp = fill_list(argv, n, arg, ap, v);
    fa_exec_audit(&(const struct fa_exec_call){.via = via[v], .dirfd = AT_FDCWD, .path = path,
                                               .search = v == LIST_EXECLP, .argv = argv, .call_site = call_site});
    return run_list(v, path, argv, envp);
}

FA_EXPORT int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    int rc = exec_list(LIST_EXECL, path, arg, ap, __builtin_return_address(0));
    va_end(ap);
    return rc;
}

FA_EXPORT int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    int rc = exec_list(LIST_EXECLP, file, arg, ap, __builtin_return_address(0));
    va_end(ap);
    return rc;
}

FA_EXPORT int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    int rc = exec_list(LIST_EXECLE, path, arg, ap, __builtin_return_address(0));
    va_end(ap);
    return rc;
}
