/* process.c: the process state, the pid cache and the auditor's per-thread flags (see
 * process.h). */
#include "base/process.h"

#include <sys/uio.h>
#include <errno.h>

#include <sys/syscall.h>
#include <unistd.h>

struct fa_process fa_proc = {.log_fd = -1};
FA_TLS struct fa_tls fa_tls;

pid_t fa_gettid(void) { return (pid_t)syscall(SYS_gettid); }

pid_t fa_getpid(void)
{
    pid_t p = __atomic_load_n(&fa_proc.pid, __ATOMIC_RELAXED);
    return p ? p : (pid_t)syscall(SYS_getpid);
}

int fa_pid_refresh(void)
{
    pid_t now = (pid_t)syscall(SYS_getpid);
    pid_t was = __atomic_load_n(&fa_proc.pid, __ATOMIC_RELAXED);
    if (was == now) return 0; /* no store: the page may be shared copy-on-write with a child */
    __atomic_store_n(&fa_proc.pid, now, __ATOMIC_RELAXED);
    return was != 0;
}

int fa_read_memory(void *out, uintptr_t addr, size_t n)
{
    struct iovec local = {out, n}, remote = {(void *)addr, n};
    int saved = errno;
    long r = syscall(SYS_process_vm_readv, (long)fa_getpid(), &local, 1L, &remote, 1L, 0L);
    errno = saved;
    return r == (long)n ? 0 : -1;
}
