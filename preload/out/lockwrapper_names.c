/* lockwrapper_names.c: see lockwrapper_names.h. */
#include "out/lockwrapper_names.h"

#include <string.h>

#include "out/symbolize.h"
#include "track/lockwrappers.h"

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }
static int is_upper(int c) { return c >= 'A' && c <= 'Z'; }
static int is_lower(int c) { return c >= 'a' && c <= 'z'; }

static int word_is(const char *w, size_t n, const char *want)
{
    size_t k = strlen(want);
    if (n != k) return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)w[i]) != want[i]) return 0;
    return 1;
}

struct words {
    int n;
    const char *w[8];
    size_t len[8];
};

/* The words of an identifier: lock_guard -> lock, guard; MutexLock -> mutex, lock. */
static void split_words(const char *id, size_t n, struct words *out)
{
    out->n = 0;
    for (size_t i = 0; i < n && out->n < 8;) {
        while (i < n && id[i] == '_') i++;
        size_t start = i++;
        if (start >= n) break;
        while (i < n && id[i] != '_' && !(is_upper((unsigned char)id[i]) && is_lower((unsigned char)id[i - 1]))) i++;
        out->w[out->n] = id + start;
        out->len[out->n++] = i - start;
    }
}

static int word_in(const struct words *ws, int i, const char *const *set)
{
    for (; *set; set++)
        if (word_is(ws->w[i], ws->len[i], *set)) return 1;
    return 0;
}

static const char *const verbs[] = {"lock", "trylock", "rdlock", "wrlock", "acquire", NULL};
/* what may stand before the verb: mutex_lock, spin_lock, __gthread_mutex_lock, try_lock,
 * g_rec_mutex_lock, ReaderLock; not worker_holds_table_lock, whose lock is its own work */
static const char *const lock_nouns[] = {"mutex", "spin", "rw", "rwlock", "lock", "sem", "rec", "recursive",
                                         "read", "write", "reader", "writer", "shared", "try", "critical",
                                         "section", "exclusive", NULL};
/* what may follow it: lock_shared, AcquireShared, lock_exclusive */
static const char *const lock_modes[] = {"shared", "exclusive", "read", "write", "reader", "writer", NULL};

/* A function named as taking a lock: its last word a verb (a mode word after it aside),
 * the word before it, if any, a lock's noun. A constructor (`ctor`): its class has the
 * word lock or locker (lock_guard, unique_lock, MutexLocker, ScopedLock). */
static int acquiring_identifier(const char *id, size_t n, int ctor)
{
    struct words ws;
    split_words(id, n, &ws);
    if (ctor) {
        for (int i = 0; i < ws.n; i++)
            if (word_is(ws.w[i], ws.len[i], "lock") || word_is(ws.w[i], ws.len[i], "locker")) return 1;
        return 0;
    }
    int last = ws.n - 1;
    if (last > 0 && word_in(&ws, last, lock_modes) && word_in(&ws, last - 1, verbs)) last--;
    if (last < 0 || !word_in(&ws, last, verbs)) return 0;
    return last == 0 || word_in(&ws, last - 1, lock_nouns) || word_in(&ws, last - 1, verbs);
}

static int digit(int c) { return c >= '0' && c <= '9'; }

/* <number><identifier> at *p; its text and length, *p moved past it. 0 when not there. */
static int source_name(const char **p, const char **id, size_t *len)
{
    size_t n = 0;
    const char *s = *p;
    if (!digit((unsigned char)*s)) return 0;
    while (digit((unsigned char)*s)) n = n * 10 + (size_t)(*s++ - '0');
    if (n == 0 || strnlen(s, n) < n) return 0;
    *id = s;
    *len = n;
    *p = s + n;
    return 1;
}

/* Skips one template argument list I...E (nested ones too). */
static void skip_template_args(const char **p)
{
    int depth = 0;
    for (const char *s = *p; *s; s++) {
        if (*s == 'I') depth++;
        else if (*s == 'E' && --depth == 0) {
            *p = s + 1;
            return;
        } else if (digit((unsigned char)*s)) { /* a name inside: skip it whole (it may hold 'E') */
            const char *id;
            size_t len;
            if (source_name(&s, &id, &len)) s--;
        }
    }
    *p += strlen(*p);
}

/* The Itanium C++ ABI name's last component, or a constructor's class. */
static int mangled_acquires(const char *p)
{
    p += 2; /* _Z */
    /* internal linkage (_ZL20__gthread_mutex_lockP15pthread_mutex_t), std:: (in either
     * order: _ZStL23__glibcxx_rwlock_rdlockP16pthread_rwlock_t) */
    while (*p == 'L' || (*p == 'S' && p[1] == 't')) p += *p == 'L' ? 1 : 2;
    const char *last = NULL;
    size_t last_len = 0;
    int ctor = 0;
    if (*p == 'N') {
        p++;
        while (*p == 'r' || *p == 'V' || *p == 'K' || *p == 'R' || *p == 'O') p++;
        while (*p && *p != 'E') {
            const char *id;
            size_t len;
            if (source_name(&p, &id, &len)) {
                last = id;
                last_len = len;
            } else if (*p == 'I') {
                skip_template_args(&p);
            } else if (*p == 'C' && digit((unsigned char)p[1])) { /* constructor: the class is `last` */
                ctor = 1;
                break;
            } else if (*p == 'S' && p[1] == 't') {
                p += 2;
            } else if (*p == 'S') { /* a substitution S_ / S0_ ...: not a name of its own */
                while (*p && *p != '_') p++;
                if (*p) p++;
            } else { /* a destructor (D0..D2: it releases), or what this reader does not know */
                return 0;
            }
        }
    } else {
        const char *id;
        size_t len;
        if (!source_name(&p, &id, &len)) return 0;
        last = id;
        last_len = len;
    }
    return last && acquiring_identifier(last, last_len, ctor);
}

int fa_lockwrap_name(const char *name)
{
    if (!name || !*name) return 0;
    if (name[0] == '_' && name[1] == 'Z') return mangled_acquires(name);
    size_t n = strcspn(name, "@");
    /* The lock functions themselves (another preloaded library's pthread_mutex_lock) are
     * not wrappers of the program's: their callers are the sites. */
    if (!strncmp(name, "pthread_", 8) || !strncmp(name, "__pthread_", 10)) return 0;
    return acquiring_identifier(name, n, 0);
}

/* Modules of the system and the auditor's: their lock calls are inlined or are theirs. */
static int system_module(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    static const char *const libs[] = {"libc.so", "libc-", "ld-linux", "libstdc++.so", "libgcc_s.so", "libm.so",
                                       "libunwind", "liblzma.so", "libforkaudit", "libpthread.so", "libdl.so",
                                       "libpython3", "python3"};
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++)
        if (!strncmp(base, libs[i], strlen(libs[i]))) return 1;
    return 0;
}

static void consider(const char *name, size_t size, uintptr_t addr, void *ctx)
{
    (void)ctx;
    if (size < FA_LOCKWRAP_SIZE_MAX && fa_lockwrap_name(name)) fa_lockwrap_add(addr, addr + size);
}

int fa_lockwrappers_find(void)
{
    fa_symbolize_each_function(system_module, consider, NULL);
    return fa_lockwrap_publish();
}
