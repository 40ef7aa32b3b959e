/* fork.c: the fork(), __register_atfork and dlclose wrappers. The fork protocol they drive
 * is in audit/lifecycle.c, the prepare-handler trampolines in track/atfork.c.
 *  - __register_atfork is interposed so other libraries' prepare handlers run through a
 *    trampoline that marks the locks they take: those are protected, not hazards. */
#include "intercept/real.h"

#include <errno.h>

#include "audit/lifecycle.h"
#include "intercept/init.h"
#include "out/symbolize.h"
#include "track/atfork.h"
#include "track/threads.h"

extern void *__dso_handle;

FA_EXPORT pid_t fork(void)
{
    fa_init();
    struct fa_thread *self = fa_thread_current();
    if (!self || fa_in_auditor) return FA_REAL(fork)();
    struct fa_snapshot *s = fa_fork_wrapper_before(__builtin_return_address(0));
    pid_t pid = FA_REAL(fork)();
    int saved = errno;
    fa_fork_wrapper_after(self, s, pid);
    errno = saved;
    return pid;
}

/* pthread_atfork() is linked statically into every caller (libc_nonshared.a) and calls
 * this exported function, which is therefore where registrations can be seen. */
FA_EXPORT int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void), void *dso)
{
    if (prepare && dso != &__dso_handle) prepare = fa_atfork_wrap_prepare(prepare, dso);
    return FA_REAL(__register_atfork)(prepare, parent, child, dso);
}

/* After a dlclose: trampolines of objects that are gone are free again (glibc dropped
 * their handlers when it unloaded them), and symbol names of the unloaded code are stale. */
FA_EXPORT int dlclose(void *handle)
{
    int rc = FA_REAL(dlclose)(handle);
    int saved = errno;
    fa_symbolize_invalidate();
    fa_atfork_forget_unloaded();
    errno = saved;
    return rc;
}
