/* symbolize.c: pc -> module, offset, function (see symbolize.h).
 *
 * Modules are the executable mappings of /proc/self/maps, one per loaded instance of a
 * file (consecutive mappings of the same file); each module's ELF file is mapped lazily
 * and searched for the covering function symbol. The table is rebuilt when a pc falls
 * outside every module and after dlclose (a later library may load at the same place). */
#include "out/symbolize.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/backtrace.h"

#include "base/fa.h"
#include "base/fmt.h"
#include "base/ownfd.h"
#include "base/procfs.h"
#include "base/process.h"
#include "track/threads.h"

#define MAX_MODULES 512
#define PATH_MAX_LEN 512
#define CACHE_SIZE 4096
#define DEMANGLED_SLOTS 4096
#define DEMANGLED_PROBES 8
#define NAMES_BYTES ((size_t)1 << 20)
#define MANGLED_MAX ((size_t)1024)   /* longer symbols stay mangled */
#define DEMANGLED_MAX ((size_t)4096) /* and so do those whose demangled form is longer */

struct symtab {
    const ElfW(Sym) *syms;
    size_t n;
    const char *str;
    size_t strsz;
};

struct elf_image {
    const unsigned char *map;
    size_t len;
};

struct module {
    uintptr_t lo, hi;        /* the instance's mappings, executable ones included */
    uintptr_t base;          /* start of its mapping at file offset 0 */
    uintptr_t bias;          /* load bias: pc - bias is an ELF address */
    int elf_state;           /* 0 not read yet, 1 read, -1 unreadable */
    struct elf_image file, debug;
    struct symtab full, dyn; /* .symtab (file or debug file) and .dynsym */
    char path[PATH_MAX_LEN];
};

struct cache_entry {
    uintptr_t pc;
    int module;              /* index + 1; 0 = empty entry */
    const char *function;
    uintptr_t function_start;
};

/* A C++ name demangled once: `mangled` (a string table's name) and a hash of its text
 * (so a pointer into an image unmapped since then is never mistaken for it), and its
 * demangled text in names[] (len 0: __cxa_demangle did not take it; the name stays). */
struct demangled {
    const char *mangled;
    uint64_t hash;
    uint32_t off, len;
};

/* All mutable state lives in one MADV_DONTFORK mapping, like the ELF files it maps: a
 * fork copies none of it (fewer mappings to copy, no copy-on-write faults on the lock),
 * and a child builds its own on first use. */
struct state {
    int lock;                /* 1 while a thread symbolizes */
    int stale;               /* a library was unloaded: rebuild before the next lookup */
    int nmodules;
    struct module modules[MAX_MODULES];
    struct module previous[MAX_MODULES]; /* scratch for a rebuild: ELF images are reused */
    struct cache_entry cache[CACHE_SIZE];
    struct demangled demangled[DEMANGLED_SLOTS];
    void *demangler;         /* __cxa_demangle, when found (demangler_looked) */
    int demangler_looked;
    size_t names_used;
    char names[NAMES_BYTES]; /* demangled names, appended; never reused (callers keep pointers) */
};
#define st ((struct state *)fa_proc.symbolizer)

static long sys_open(const char *path, int flags) { return fa_ownfd_openat(AT_FDCWD, path, flags); }

static void *map_dontfork(void *p, size_t len)
{
    if (p == MAP_FAILED) return NULL;
    madvise(p, len, MADV_DONTFORK);
    return p;
}

static int create_state(void)
{
    struct state *s = map_dontfork(mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
                                   sizeof *s);
    if (!s) return 0;
    void *expect = NULL;
    if (!__atomic_compare_exchange_n(&fa_proc.symbolizer, &expect, s, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        munmap(s, sizeof *s);
    return 1;
}

static int acquire(void)
{
    if (fa_tls.in_symbolizer) return 0; /* re-entered from a signal handler: never wait */
    if (!__atomic_load_n(&fa_proc.symbolizer, __ATOMIC_ACQUIRE) && !create_state()) return 0;
    for (;;) {
        int expect = 0;
        if (__atomic_compare_exchange_n(&st->lock, &expect, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            fa_tls.in_symbolizer = 1;
            return 1;
        }
        syscall(SYS_sched_yield);
    }
}

static void release(void)
{
    fa_tls.in_symbolizer = 0;
    __atomic_store_n(&st->lock, 0, __ATOMIC_RELEASE);
}

void fa_symbolize_after_fork_child(void)
{
    fa_proc.symbolizer = NULL; /* the parent's state was not copied (MADV_DONTFORK) */
    if (fa_tls.in_symbolizer) fa_tls.in_symbolizer = 0;
}

void fa_symbolize_invalidate(void)
{
    struct state *s = __atomic_load_n(&fa_proc.symbolizer, __ATOMIC_ACQUIRE);
    if (s) __atomic_store_n(&s->stale, 1, __ATOMIC_RELEASE);
}

static uintptr_t parse_hex(const char **p)
{
    uintptr_t v = 0;
    for (;; (*p)++) {
        char c = **p;
        if (c >= '0' && c <= '9') v = v * 16 + (uintptr_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v = v * 16 + (uintptr_t)(c - 'a' + 10);
        else return v;
    }
}

static void unmap_images(struct module *m)
{
    if (m->file.map) munmap((void *)m->file.map, m->file.len);
    if (m->debug.map) munmap((void *)m->debug.map, m->debug.len);
}

/* Rebuilds the module table from /proc/self/maps, keeping the ELF images of instances
 * that are still there and unmapping the others. */
static void rebuild_modules(void)
{
    struct fa_buf b;
    if (fa_proc_read("/proc/self/maps", &b) != 0) return;
    int nprevious = st->nmodules;
    memcpy(st->previous, st->modules, (size_t)nprevious * sizeof st->modules[0]);
    st->nmodules = 0;
    struct module *cur = NULL;
    int cur_exec = 0;
    for (const char *line = b.p; *line;) {
        const char *eol = strchr(line, '\n');
        if (!eol) eol = line + strlen(line);
        const char *p = line;
        uintptr_t lo = parse_hex(&p);
        p++;
        uintptr_t hi = parse_hex(&p);
        int exec = p + 3 < eol && p[3] == 'x'; /* " r-xp" */
        p += 6;
        uintptr_t off = parse_hex(&p);
        for (int field = 0; field < 2 && p < eol; field++) { /* dev, inode */
            while (p < eol && *p == ' ') p++;
            while (p < eol && *p != ' ') p++;
        }
        while (p < eol && *p == ' ') p++;
        size_t plen = (size_t)(eol - p);
        int file = plen > 0 && plen < PATH_MAX_LEN && *p == '/';
        /* A new instance starts at a different file, or at its offset 0 again. */
        // cppcheck-suppress knownConditionTrueFalse ; false positive: file is 1 for every path line
        if (!file || !cur || strncmp(cur->path, p, plen) != 0 || cur->path[plen] != 0 || off == 0) {
            if (cur && !cur_exec) st->nmodules--; /* data files, locales: no code, no module */
            cur = NULL;
            cur_exec = 0;
            if (file && st->nmodules < MAX_MODULES) {
                cur = &st->modules[st->nmodules++];
                memset(cur, 0, sizeof *cur);
                memcpy(cur->path, p, plen);
                cur->path[plen] = 0;
                cur->lo = lo;
                if (off == 0) cur->base = lo;
            }
        }
        if (cur) {
            cur->hi = hi;
            cur_exec |= exec;
        }
        line = *eol ? eol + 1 : eol;
    }
    if (cur && !cur_exec) st->nmodules--;
    fa_buf_release(&b);
    /* Carry ELF images over to the same instance; unmap those of vanished ones. */
    for (int i = 0; i < nprevious; i++) {
        struct module *old = &st->previous[i];
        int kept = 0;
        for (int k = 0; k < st->nmodules && !kept; k++) {
            struct module *m = &st->modules[k];
            if (m->elf_state == 0 && m->lo == old->lo && strcmp(m->path, old->path) == 0) {
                uintptr_t hi = m->hi;
                *m = *old;
                m->hi = hi;
                kept = 1;
            }
        }
        if (!kept) unmap_images(old);
    }
    memset(st->cache, 0, sizeof st->cache);
    st->demangler = NULL; /* its library may be gone, or have come */
    st->demangler_looked = 0;
    st->stale = 0;
}

static struct module *module_for(uintptr_t pc)
{
    for (int i = 0; i < st->nmodules; i++)
        if (pc >= st->modules[i].lo && pc < st->modules[i].hi) return &st->modules[i];
    return NULL;
}

static int in_file(const struct elf_image *img, size_t off, size_t len) { return off <= img->len && len <= img->len - off; }

static int map_file(const char *path, struct elf_image *img)
{
    long fd = sys_open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat sb;
    int ok = syscall(SYS_fstat, fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size >= (off_t)sizeof(ElfW(Ehdr));
    void *p = ok ? mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, (int)fd, 0) : MAP_FAILED;
    fa_ownfd_close(fd);
    if (!map_dontfork(p, ok ? (size_t)sb.st_size : 0)) return -1;
    img->map = p;
    img->len = (size_t)sb.st_size;
    const ElfW(Ehdr) *eh = p;
    /* Untrusted input: every offset is checked against the file size without overflow. */
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_shoff == 0 || !in_file(img, eh->e_shoff, (size_t)eh->e_shnum * sizeof(ElfW(Shdr)))) {
        munmap(p, img->len);
        img->map = NULL;
        return -1;
    }
    return 0;
}

static const ElfW(Shdr) *sections(const struct elf_image *img, int *n)
{
    const ElfW(Ehdr) *eh = (const void *)img->map;
    *n = eh->e_shnum;
    return (const void *)(img->map + eh->e_shoff);
}

static void find_symtab(const struct elf_image *img, unsigned type, struct symtab *out)
{
    int n;
    const ElfW(Shdr) *sh = sections(img, &n);
    for (int i = 0; i < n; i++) {
        if (sh[i].sh_type != type || sh[i].sh_link >= (unsigned)n) continue;
        const ElfW(Shdr) *str = &sh[sh[i].sh_link];
        if (!in_file(img, sh[i].sh_offset, sh[i].sh_size) || !in_file(img, str->sh_offset, str->sh_size)) continue;
        out->syms = (const void *)(img->map + sh[i].sh_offset);
        out->n = sh[i].sh_size / sizeof(ElfW(Sym));
        out->str = (const char *)img->map + str->sh_offset;
        out->strsz = str->sh_size;
        return;
    }
}

/* /usr/lib/debug/.build-id/xx/yyyy.debug for the file's GNU build-id note, if any. */
static int debug_file_path(const struct elf_image *img, char *out, size_t cap)
{
    int n;
    const ElfW(Shdr) *sh = sections(img, &n);
    for (int i = 0; i < n; i++) {
        if (sh[i].sh_type != SHT_NOTE || !in_file(img, sh[i].sh_offset, sh[i].sh_size)) continue;
        const unsigned char *notes = img->map + sh[i].sh_offset;
        size_t size = sh[i].sh_size, off = 0;
        while (size - off >= sizeof(ElfW(Nhdr))) {
            const ElfW(Nhdr) *nh = (const void *)(notes + off);
            size_t name = off + sizeof *nh, namesz = ((size_t)nh->n_namesz + 3) & ~(size_t)3;
            if (namesz > size - name) break;
            size_t desc = name + namesz, descsz = ((size_t)nh->n_descsz + 3) & ~(size_t)3;
            if (descsz > size - desc) break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(notes + name, "GNU", 4) == 0 &&
                nh->n_descsz >= 2) {
                struct fa_buf b;
                fa_buf_fixed(&b, out, cap);
                fa_puts(&b, "/usr/lib/debug/.build-id/");
                for (unsigned k = 0; k < nh->n_descsz; k++) {
                    fa_putc(&b, "0123456789abcdef"[notes[desc + k] >> 4]);
                    fa_putc(&b, "0123456789abcdef"[notes[desc + k] & 15]);
                    if (k == 0) fa_putc(&b, '/');
                }
                fa_puts(&b, ".debug");
                fa_buf_terminate(&b);
                return b.truncated ? -1 : 0;
            }
            off = desc + descsz;
        }
    }
    return -1;
}

static void load_elf(struct module *m)
{
    m->elf_state = -1;
    m->bias = m->base ? m->base : m->lo;
    if (map_file(m->path, &m->file) != 0) return;
    const ElfW(Ehdr) *eh = (const void *)m->file.map;
    /* Bias: where the first PT_LOAD (file offset 0) landed, minus its link-time address. */
    uintptr_t first_vaddr = 0;
    if (eh->e_phoff && in_file(&m->file, eh->e_phoff, (size_t)eh->e_phnum * sizeof(ElfW(Phdr)))) {
        const ElfW(Phdr) *ph = (const void *)(m->file.map + eh->e_phoff);
        for (int i = 0; i < eh->e_phnum; i++)
            if (ph[i].p_type == PT_LOAD) {
                first_vaddr = ph[i].p_vaddr & ~(uintptr_t)(ph[i].p_align ? ph[i].p_align - 1 : 0);
                break;
            }
    }
    m->bias -= first_vaddr;
    find_symtab(&m->file, SHT_SYMTAB, &m->full);
    find_symtab(&m->file, SHT_DYNSYM, &m->dyn);
    char dbg[PATH_MAX_LEN];
    if (!m->full.syms && debug_file_path(&m->file, dbg, sizeof dbg) == 0 && map_file(dbg, &m->debug) == 0)
        find_symtab(&m->debug, SHT_SYMTAB, &m->full);
    m->elf_state = 1;
}

/* The symbol's name, or NULL when it does not end inside the string table. */
static const char *name_of(const struct symtab *t, const ElfW(Sym) *s)
{
    if (s->st_name >= t->strsz || !memchr(t->str + s->st_name, 0, t->strsz - s->st_name)) return NULL;
    return t->str + s->st_name;
}

/* Among aliases of one address, prefer a global name, then the shorter one
 * (__libc_start_main over __libc_start_main_alias_2). */
static int better_name(const struct symtab *t, const ElfW(Sym) *a, const ElfW(Sym) *b)
{
    int ga = ELF64_ST_BIND(a->st_info) == STB_GLOBAL, gb = ELF64_ST_BIND(b->st_info) == STB_GLOBAL;
    if (ga != gb) return ga;
    return strlen(name_of(t, a)) < strlen(name_of(t, b));
}

/* The function symbol covering `addr` (an ELF address), innermost if several do. */
static const char *lookup(const struct symtab *t, uintptr_t addr, uintptr_t *start)
{
    const ElfW(Sym) *best = NULL;
    for (size_t i = 0; i < t->n; i++) {
        const ElfW(Sym) *s = &t->syms[i];
        unsigned type = ELF64_ST_TYPE(s->st_info);
        if ((type != STT_FUNC && type != STT_GNU_IFUNC) || s->st_shndx == SHN_UNDEF || s->st_value == 0) continue;
        if (addr < s->st_value || !name_of(t, s)) continue;
        uintptr_t size = s->st_size ? s->st_size : 1;
        if (addr - s->st_value >= size) continue;
        if (!best || s->st_value > best->st_value || (s->st_value == best->st_value && better_name(t, s, best)))
            best = s;
    }
    if (!best) return NULL;
    *start = best->st_value;
    return name_of(t, best);
}

/* ---------------------------------------------------------------- C++ names
 * Demangled by libstdc++'s __cxa_demangle, found at run time in the symbol tables this
 * file reads anyway (libstdc++'s first, then any module's: a static libstdc++): a program
 * without libstdc++ is unaffected, and the library links nothing new. Not with dlsym,
 * which would wait for the loader's lock and, failing in a C program, leave its message
 * for the program's next dlerror(). It mallocs, so it runs only where malloc is safe: on
 * the thread that writes the parent's records of a fork, after the fork returned
 * (fa_symbolize_demangle_here, set by fa_audit_finish; glibc has released its malloc
 * locks there, and no lock wrapper of ours is on that thread's stack). Never in a child
 * before exec, in a lock wrapper or in a signal handler: there a name demangled earlier
 * in this process is used, else the mangled name is kept. A signal handler that
 * interrupts the demangling gets no names (fa_tls.in_symbolizer); one that interrupts the
 * rest of that window interrupts no malloc. A fork called from the program's own signal
 * handler is not told apart: such a program is already outside what fork(2) promises. */

typedef char *cxa_demangle_fn(const char *mangled, char *buf, size_t *len, int *status);

static FA_TLS int demangle_here;

void fa_symbolize_demangle_here(int on) { demangle_here = on; }

static uint64_t name_hash(const char *p, size_t n)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}

/* The address of the defined function `name` in table t of module m, or 0. */
static uintptr_t defined_function(const struct module *m, const struct symtab *t, const char *name)
{
    for (size_t i = 0; t->syms && i < t->n; i++) {
        const ElfW(Sym) *sym = &t->syms[i];
        const char *sn = name_of(t, sym);
        if (ELF64_ST_TYPE(sym->st_info) == STT_FUNC && sym->st_shndx != SHN_UNDEF && sym->st_value && sn &&
            strcmp(sn, name) == 0)
            return m->bias + sym->st_value;
    }
    return 0;
}

/* Looks for __cxa_demangle once per module table: libstdc++'s, else any module's. */
static cxa_demangle_fn *demangler(void)
{
    if (!st->demangler_looked) {
        st->demangler_looked = 1;
        for (int pass = 0; pass < 2 && !st->demangler; pass++)
            for (int i = 0; i < st->nmodules && !st->demangler; i++) {
                struct module *m = &st->modules[i];
                const char *base = strrchr(m->path, '/');
                if (pass == 0 && strncmp(base ? base + 1 : m->path, "libstdc++", 9) != 0) continue;
                if (m->elf_state == 0) load_elf(m);
                uintptr_t fn = defined_function(m, &m->dyn, "__cxa_demangle");
                if (!fn) fn = defined_function(m, &m->full, "__cxa_demangle");
                st->demangler = (void *)fn;
            }
    }
    return (cxa_demangle_fn *)st->demangler;
}

/* The slot of `name`, found (*found = 1) or free to take; NULL when full. */
static struct demangled *demangled_slot(const char *name, uint64_t hash, int *found)
{
    size_t at = (((uintptr_t)name >> 3) ^ hash) % DEMANGLED_SLOTS;
    struct demangled *free_slot = NULL;
    *found = 0;
    for (int k = 0; k < DEMANGLED_PROBES; k++) {
        struct demangled *d = &st->demangled[(at + (size_t)k) % DEMANGLED_SLOTS];
        if (d->mangled == name && d->hash == hash) {
            *found = 1;
            return d;
        }
        if (!d->mangled && !free_slot) free_slot = d;
    }
    return free_slot ? free_slot : &st->demangled[at]; /* all taken: reuse the first */
}

static void demangle_into(struct demangled *d, const char *name, size_t n)
{
    cxa_demangle_fn *fn = demangler();
    d->len = 0;
    if (!fn || n >= MANGLED_MAX) return;
    char copy[MANGLED_MAX];
    memcpy(copy, name, n); /* without its "@VERSION" */
    copy[n] = 0;
    int status = -1;
    char *text = fn(copy, NULL, NULL, &status);
    if (!text) return;
    size_t len = strlen(text);
    if (status == 0 && len > 0 && len < DEMANGLED_MAX && len <= NAMES_BYTES - st->names_used) {
        memcpy(st->names + st->names_used, text, len);
        d->off = (uint32_t)st->names_used;
        d->len = (uint32_t)len;
        st->names_used += len;
    }
    free(text);
}

/* The demangled text of a C++ name, if known or (demangle_here) found now. */
static const char *demangled_name(const char *name, size_t n, size_t *len)
{
    if (n < 3 || name[0] != '_' || name[1] != 'Z') return NULL;
    uint64_t hash = name_hash(name, n);
    int found;
    struct demangled *d = demangled_slot(name, hash, &found);
    if (!found) {
        if (!demangle_here || !demangler()) return NULL;
        d->mangled = name;
        d->hash = hash;
        demangle_into(d, name, n);
    }
    if (!d->len) return NULL;
    *len = d->len;
    return st->names + d->off;
}

void fa_symbolize(uintptr_t pc, int is_return_address, struct fa_frame_info *out)
{
    memset(out, 0, sizeof *out);
    pc = fa_pc(pc); /* a stack's last pc may carry its truncation flags */
    if (pc == 0) return;
    int saved = errno;
    if (!acquire()) { /* this thread is inside the symbolizer already (signal): no names */
        errno = saved;
        return;
    }
    if (__atomic_load_n(&st->stale, __ATOMIC_ACQUIRE)) rebuild_modules();
    uintptr_t key = pc - (is_return_address ? 1 : 0);
    struct cache_entry *c = &st->cache[(key >> 2) % CACHE_SIZE];
    if (c->module == 0 || c->pc != key) {
        struct module *m = module_for(pc);
        if (!m) {
            rebuild_modules();
            m = module_for(pc);
            c = &st->cache[(key >> 2) % CACHE_SIZE];
        }
        c->pc = key;
        c->module = 0;
        c->function = NULL;
        if (m) {
            if (m->elf_state == 0) load_elf(m);
            uintptr_t addr = key - m->bias, start = 0;
            const char *fn = m->full.syms ? lookup(&m->full, addr, &start) : NULL;
            if (!fn && m->dyn.syms) fn = lookup(&m->dyn, addr, &start);
            c->module = (int)(m - st->modules) + 1;
            c->function = fn;
            c->function_start = start;
        }
    }
    if (c->module) {
        struct module *m = &st->modules[c->module - 1];
        out->module = m->path;
        out->offset = pc - m->bias;
        out->function = c->function;
        out->function_len = c->function ? strcspn(c->function, "@") : 0;
        out->function_offset = c->function ? pc - m->bias - c->function_start : 0;
        size_t len = 0;
        const char *readable = c->function ? demangled_name(c->function, out->function_len, &len) : NULL;
        if (readable) {
            out->mangled = out->function;
            out->mangled_len = out->function_len;
            out->function = readable;
            out->function_len = len;
        }
    }
    release();
    errno = saved;
}

void fa_symbolize_each_function(int (*skip_module)(const char *path), fa_function_fn *fn, void *ctx)
{
    int saved = errno;
    if (!acquire()) {
        errno = saved;
        return;
    }
    rebuild_modules();
    for (int i = 0; i < st->nmodules; i++) {
        struct module *m = &st->modules[i];
        if (skip_module(m->path)) continue;
        if (m->elf_state == 0) load_elf(m);
        const struct symtab *t = m->full.syms ? &m->full : &m->dyn;
        for (size_t k = 0; t->syms && k < t->n; k++) {
            const ElfW(Sym) *sym = &t->syms[k];
            const char *name = name_of(t, sym);
            if (ELF64_ST_TYPE(sym->st_info) != STT_FUNC || sym->st_shndx == SHN_UNDEF || !sym->st_value ||
                !sym->st_size || !name)
                continue;
            fn(name, sym->st_size, m->bias + sym->st_value, ctx);
        }
    }
    release();
    errno = saved;
}

const char *fa_function_name(const void *fn, char *out, size_t cap)
{
    struct fa_frame_info fi;
    if (cap) out[0] = 0;
    if (!fn || !cap) return NULL;
    fa_symbolize((uintptr_t)fn, 0, &fi);
    if (!fi.function || fi.function_offset != 0 || fi.function_len >= cap) return NULL;
    memcpy(out, fi.function, fi.function_len);
    out[fi.function_len] = 0;
    return out;
}
