/* real.c: resolution of the real functions behind our wrappers (see real.h). */
#include "real.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "log.h"

struct fa_real_table fa_real;

static const struct {
    const char *name, *version;
} names[FA_REAL_COUNT] = {
#define X(fn, ver) {#fn, ver},
    FA_REAL_FUNCTIONS(X)
#undef X
};

/* While this thread runs dlsym, a wrapper it re-enters (an allocator locking a mutex)
 * cannot wait for resolution: it uses glibc's own exported aliases, bound at link time. */
extern int fa_libc_mutex_lock(pthread_mutex_t *);
extern int fa_libc_mutex_trylock(pthread_mutex_t *);
extern int fa_libc_mutex_unlock(pthread_mutex_t *);
__asm__(".symver fa_libc_mutex_lock,__pthread_mutex_lock@GLIBC_2.2.5");
__asm__(".symver fa_libc_mutex_trylock,__pthread_mutex_trylock@GLIBC_2.2.5");
__asm__(".symver fa_libc_mutex_unlock,__pthread_mutex_unlock@GLIBC_2.2.5");

static FA_TLS int resolving;

static void *fallback(enum fa_real_id id)
{
    switch (id) {
    case FA_ID_pthread_mutex_lock: return (void *)fa_libc_mutex_lock;
    case FA_ID_pthread_mutex_trylock: return (void *)fa_libc_mutex_trylock;
    case FA_ID_pthread_mutex_unlock: return (void *)fa_libc_mutex_unlock;
    default: return NULL;
    }
}

/* 1 when `p` is in this library, or in another copy of it preloaded after this one (a
 * launcher inside a launcher, a test suite that uses forkaudit run under forkaudit):
 * calling into a copy would audit everything twice and deadlock in libunwind. */
static int is_forkaudit(void *p)
{
    Dl_info mine, theirs;
    if (!dladdr((void *)&fa_resolve, &mine) || !dladdr(p, &theirs)) return 0;
    if (mine.dli_fbase == theirs.dli_fbase) return 1;
    /* By name: a lookup in that object (dlopen, dlsym) could allocate or take the loader's
     * lock, and this runs inside other libraries' mutexes at start-up (jemalloc's). */
    const char *base = theirs.dli_fname ? strrchr(theirs.dli_fname, '/') : NULL;
    base = base ? base + 1 : theirs.dli_fname;
    return base && strncmp(base, "libforkaudit", 12) == 0;
}

static void *lookup(void *handle, enum fa_real_id id)
{
    return names[id].version ? dlvsym(handle, names[id].name, names[id].version) : dlsym(handle, names[id].name);
}

void *fa_resolve(enum fa_real_id id)
{
    void **slot = (void **)&fa_real + id;
    void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (p) return p;
    if (resolving) return fallback(id);
    int saved = errno;
    resolving = 1;
    p = lookup(RTLD_NEXT, id);
    if (!p || is_forkaudit(p)) {
        /* Never call ourselves, nor another copy of us: go to glibc directly. */
        void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
        p = libc ? lookup(libc, id) : NULL;
        if (p && is_forkaudit(p)) p = NULL;
    }
    if (!p) p = fallback(id);
    resolving = 0;
    if (p) __atomic_store_n(slot, p, __ATOMIC_RELEASE);
    errno = saved;
    return p;
}

void fa_resolve_all(void)
{
    for (int i = 0; i < FA_REAL_COUNT; i++) fa_resolve((enum fa_real_id)i);
}
