/* real.c: resolution of the real functions behind our wrappers (see real.h). */
#include "intercept/real.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <string.h>

#include "out/log.h"

struct fa_real_table fa_real;

static const struct {
    const char *name, *version;
} names[FA_REAL_COUNT] = {
#define FA_LOCK_FN(ID, role, mode, fn, ver) {#fn, ver},
#include "track/locks.def"
#define X(fn, ver) {#fn, ver},
    FA_REAL_OTHER_FUNCTIONS(X)
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

/* Where this library and any other copy of it are mapped: their loadable segments. Found
 * by walking the program headers, once per resolution pass (dladdr would also scan the
 * object's whole symbol table, ~100,000 instructions in libc per call: it was most of the
 * start-up cost of every exec'd child). */
#define COPY_SEGMENTS_MAX 32
struct copies {
    int n;
    uintptr_t lo[COPY_SEGMENTS_MAX], hi[COPY_SEGMENTS_MAX];
};

static int contains(const struct dl_phdr_info *info, uintptr_t addr)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && addr >= lo && addr - lo < ph->p_memsz) return 1;
    }
    return 0;
}

/* An address from an object's dynamic section: the loader rewrote most in place to run-
 * time addresses; the ones it left (a read-only section: the vDSO) are still offsets. */
static uintptr_t dynamic_address(const struct dl_phdr_info *info, uintptr_t p)
{
    return p < info->dlpi_addr ? info->dlpi_addr + p : p;
}

/* Whether the object defines the symbol `name` (exported), by its GNU hash table: a
 * bloom filter test rules out almost every object in a few instructions. Objects
 * without that table are taken as not defining it. */
static int defines_symbol(const struct dl_phdr_info *info, const char *name)
{
    const ElfW(Dyn) *dyn = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC) dyn = (const void *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    const uint32_t *gnu = NULL;
    const ElfW(Sym) *symtab = NULL;
    const char *strtab = NULL;
    for (; dyn && dyn->d_tag != DT_NULL; dyn++) {
        if (dyn->d_tag == DT_GNU_HASH) gnu = (const void *)dynamic_address(info, dyn->d_un.d_ptr);
        else if (dyn->d_tag == DT_SYMTAB) symtab = (const void *)dynamic_address(info, dyn->d_un.d_ptr);
        else if (dyn->d_tag == DT_STRTAB) strtab = (const void *)dynamic_address(info, dyn->d_un.d_ptr);
    }
    if (!gnu || !symtab || !strtab || gnu[0] == 0 || gnu[2] == 0) return 0;
    uint32_t hash = 5381;
    for (const char *s = name; *s; s++) hash = hash * 33 + (unsigned char)*s;
    uint32_t nbuckets = gnu[0], symoffset = gnu[1], bloom_size = gnu[2], shift = gnu[3];
    const ElfW(Addr) *bloom = (const void *)&gnu[4];
    const uint32_t *buckets = (const void *)&bloom[bloom_size], *chain = &buckets[nbuckets];
    const unsigned bits = sizeof(ElfW(Addr)) * 8;
    ElfW(Addr) word = bloom[(hash / bits) % bloom_size];
    ElfW(Addr) mask = ((ElfW(Addr))1 << (hash % bits)) | ((ElfW(Addr))1 << ((hash >> shift) % bits));
    if ((word & mask) != mask) return 0;
    for (uint32_t i = buckets[hash % nbuckets]; i >= symoffset && i != 0; i++) {
        uint32_t h = chain[i - symoffset];
        if ((h | 1) == (hash | 1) && symtab[i].st_shndx != SHN_UNDEF && strcmp(strtab + symtab[i].st_name, name) == 0)
            return 1;
        if (h & 1) break;
    }
    return 0;
}

static int add_if_copy(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct copies *c = data;
    /* Another copy is recognised by what it defines (forkaudit_version), whatever its
     * file's name; read from its tables in memory: a lookup in that object (dlopen,
     * dlsym) could allocate or take the loader's lock, and this runs inside other
     * libraries' mutexes at start-up (jemalloc's). */
    if (!contains(info, (uintptr_t)&fa_resolve) && !defines_symbol(info, "forkaudit_version")) return 0;
    for (int i = 0; i < info->dlpi_phnum && c->n < COPY_SEGMENTS_MAX; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        c->lo[c->n] = info->dlpi_addr + ph->p_vaddr;
        c->hi[c->n++] = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
    }
    return 0;
}

static void find_copies(struct copies *c)
{
    c->n = 0;
    dl_iterate_phdr(add_if_copy, c);
}

/* 1 when `p` is in this library, or in another copy of it preloaded after this one (a
 * launcher inside a launcher, a test suite that uses forkaudit run under forkaudit):
 * calling into a copy would audit everything twice and deadlock in libunwind. */
static int is_forkaudit(const struct copies *c, void *p)
{
    for (int i = 0; i < c->n; i++)
        if ((uintptr_t)p >= c->lo[i] && (uintptr_t)p < c->hi[i]) return 1;
    return 0;
}

static void *lookup(void *handle, enum fa_real_id id)
{
    return names[id].version ? dlvsym(handle, names[id].name, names[id].version) : dlsym(handle, names[id].name);
}

/* `copies`: where the copies of the library are, or NULL to look them up now. */
static void *resolve(enum fa_real_id id, struct copies *copies)
{
    void **slot = (void **)&fa_real + id;
    void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (p) return p;
    if (resolving) return fallback(id);
    int saved = errno;
    resolving = 1;
    struct copies here;
    if (!copies) {
        find_copies(&here);
        copies = &here;
    }
    p = lookup(RTLD_NEXT, id);
    if (!p || is_forkaudit(copies, p)) {
        /* Never call ourselves, nor another copy of us: go to glibc directly. */
        void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
        p = libc ? lookup(libc, id) : NULL;
        if (p && is_forkaudit(copies, p)) p = NULL;
    }
    if (!p) p = fallback(id);
    resolving = 0;
    if (p) __atomic_store_n(slot, p, __ATOMIC_RELEASE);
    errno = saved;
    return p;
}

void *fa_resolve(enum fa_real_id id) { return resolve(id, NULL); }

void fa_resolve_all(void)
{
    /* One walk of the loaded objects for the whole pass. */
    struct copies copies;
    find_copies(&copies);
    for (int i = 0; i < FA_REAL_COUNT; i++) resolve((enum fa_real_id)i, &copies);
}
