/* symbolize.c: pc -> module, offset, function (see symbolize.h). */
#include "symbolize.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fa.h"
#include "fmt.h"
#include "procfs.h"
#include "process.h"
#include "threads.h"

#define MAX_MODULES 512
#define PATH_MAX_LEN 512
#define CACHE_SIZE 4096

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
    uintptr_t lo, hi;        /* union of the mappings of this file */
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

/* All mutable state lives in one MADV_DONTFORK mapping, like the ELF files it maps: a
 * fork copies none of it (fewer mappings to copy, no copy-on-write faults on the lock),
 * and a child builds its own on first use. */
struct state {
    int lock;                /* 1 while a thread symbolizes */
    int nmodules;            /* modules are only appended: indices stay valid */
    struct module modules[MAX_MODULES];
    struct cache_entry cache[CACHE_SIZE];
};
#define st ((struct state *)fa_proc.symbolizer)
#define modules (st->modules)
#define nmodules (st->nmodules)
#define cache (st->cache)

static long sys_open(const char *path, int flags) { return syscall(SYS_openat, AT_FDCWD, path, flags, 0); }

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

static struct module *module_by_path(const char *path, size_t len)
{
    for (int i = 0; i < nmodules; i++)
        if (strncmp(modules[i].path, path, len) == 0 && modules[i].path[len] == 0) return &modules[i];
    return NULL;
}

/* Re-reads /proc/self/maps, adding new modules and extending known ones. */
static void refresh_modules(void)
{
    struct fa_buf b;
    if (fa_proc_read("/proc/self/maps", &b) != 0) return;
    for (const char *line = b.p; *line;) {
        const char *eol = strchr(line, '\n');
        if (!eol) eol = line + strlen(line);
        const char *p = line;
        uintptr_t lo = parse_hex(&p);
        p++;
        uintptr_t hi = parse_hex(&p);
        p++;
        p += 5; /* perms and space */
        uintptr_t off = parse_hex(&p);
        /* dev, inode, then the path after spaces */
        for (int field = 0; field < 2 && p < eol; field++) {
            while (p < eol && *p == ' ') p++;
            while (p < eol && *p != ' ') p++;
        }
        while (p < eol && *p == ' ') p++;
        size_t plen = (size_t)(eol - p);
        if (plen > 0 && plen < PATH_MAX_LEN && *p == '/' &&
            !(plen > 10 && memcmp(eol - 10, " (deleted)", 10) == 0)) {
            struct module *m = module_by_path(p, plen);
            if (!m && nmodules < MAX_MODULES) {
                m = &modules[nmodules++];
                memset(m, 0, sizeof *m);
                memcpy(m->path, p, plen);
                m->path[plen] = 0;
                m->lo = lo;
            }
            if (m) {
                if (lo < m->lo) m->lo = lo;
                if (hi > m->hi) m->hi = hi;
                if (off == 0 && m->base == 0) m->base = lo;
            }
        }
        line = *eol ? eol + 1 : eol;
    }
    fa_buf_release(&b);
}

static struct module *module_for(uintptr_t pc)
{
    for (int i = 0; i < nmodules; i++)
        if (pc >= modules[i].lo && pc < modules[i].hi) return &modules[i];
    return NULL;
}

static int map_file(const char *path, struct elf_image *img)
{
    long fd = sys_open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat sb;
    int ok = syscall(SYS_fstat, fd, &sb) == 0 && sb.st_size >= (off_t)sizeof(ElfW(Ehdr));
    void *p = ok ? mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, (int)fd, 0) : MAP_FAILED;
    syscall(SYS_close, fd);
    if (!map_dontfork(p, ok ? (size_t)sb.st_size : 0)) return -1;
    const ElfW(Ehdr) *eh = p;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_shoff == 0 || eh->e_shoff + (size_t)eh->e_shnum * sizeof(ElfW(Shdr)) > (size_t)sb.st_size) {
        munmap(p, (size_t)sb.st_size);
        return -1;
    }
    img->map = p;
    img->len = (size_t)sb.st_size;
    return 0;
}

static const ElfW(Shdr) *sections(const struct elf_image *img, int *n)
{
    const ElfW(Ehdr) *eh = (const void *)img->map;
    *n = eh->e_shnum;
    return (const void *)(img->map + eh->e_shoff);
}

static int in_file(const struct elf_image *img, size_t off, size_t len) { return off <= img->len && len <= img->len - off; }

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
        const unsigned char *p = img->map + sh[i].sh_offset, *end = p + sh[i].sh_size;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const void *)p;
            const unsigned char *name = p + sizeof *nh;
            const unsigned char *desc = name + ((nh->n_namesz + 3) & ~3u);
            if (desc + nh->n_descsz > end) break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
                nh->n_descsz >= 2) {
                struct fa_buf b;
                fa_buf_fixed(&b, out, cap);
                fa_puts(&b, "/usr/lib/debug/.build-id/");
                for (unsigned k = 0; k < nh->n_descsz; k++) {
                    fa_putc(&b, "0123456789abcdef"[desc[k] >> 4]);
                    fa_putc(&b, "0123456789abcdef"[desc[k] & 15]);
                    if (k == 0) fa_putc(&b, '/');
                }
                fa_puts(&b, ".debug");
                fa_buf_terminate(&b);
                return b.truncated ? -1 : 0;
            }
            p = desc + ((nh->n_descsz + 3) & ~3u);
        }
    }
    return -1;
}

static void load_elf(struct module *m)
{
    m->elf_state = -1;
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
    m->bias = (m->base ? m->base : m->lo) - first_vaddr;
    find_symtab(&m->file, SHT_SYMTAB, &m->full);
    find_symtab(&m->file, SHT_DYNSYM, &m->dyn);
    char dbg[PATH_MAX_LEN];
    if (!m->full.syms && debug_file_path(&m->file, dbg, sizeof dbg) == 0 && map_file(dbg, &m->debug) == 0)
        find_symtab(&m->debug, SHT_SYMTAB, &m->full);
    m->elf_state = 1;
}

/* Among aliases of one address, prefer a global name, then the shorter one
 * (__libc_start_main over __libc_start_main_alias_2). */
static int better_name(const struct symtab *t, const ElfW(Sym) *a, const ElfW(Sym) *b)
{
    int ga = ELF64_ST_BIND(a->st_info) == STB_GLOBAL, gb = ELF64_ST_BIND(b->st_info) == STB_GLOBAL;
    if (ga != gb) return ga;
    return strlen(t->str + a->st_name) < strlen(t->str + b->st_name);
}

/* The function symbol covering `addr` (an ELF address), innermost if several do. */
static const char *lookup(const struct symtab *t, uintptr_t addr, uintptr_t *start)
{
    const ElfW(Sym) *best = NULL;
    for (size_t i = 0; i < t->n; i++) {
        const ElfW(Sym) *s = &t->syms[i];
        unsigned type = ELF64_ST_TYPE(s->st_info);
        if ((type != STT_FUNC && type != STT_GNU_IFUNC) || s->st_shndx == SHN_UNDEF || s->st_value == 0) continue;
        if (addr < s->st_value || s->st_name >= t->strsz) continue;
        uintptr_t size = s->st_size ? s->st_size : 1;
        if (addr - s->st_value >= size) continue;
        if (!best || s->st_value > best->st_value || (s->st_value == best->st_value && better_name(t, s, best)))
            best = s;
    }
    if (!best) return NULL;
    *start = best->st_value;
    return t->str + best->st_name;
}

void fa_symbolize(uintptr_t pc, int is_return_address, struct fa_frame_info *out)
{
    memset(out, 0, sizeof *out);
    if (pc == 0) return;
    int saved = errno;
    int locked = acquire();
    if (!locked) { /* this thread is inside the symbolizer already (signal): no names */
        errno = saved;
        return;
    }
    uintptr_t key = pc - (is_return_address ? 1 : 0);
    struct cache_entry *c = &cache[(key >> 2) % CACHE_SIZE];
    if (c->module == 0 || c->pc != key) {
        struct module *m = module_for(pc);
        if (!m) {
            refresh_modules();
            m = module_for(pc);
        }
        c->pc = key;
        c->module = 0;
        c->function = NULL;
        if (m) {
            if (m->elf_state == 0) load_elf(m);
            if (m->elf_state < 0) m->bias = m->base ? m->base : m->lo;
            uintptr_t addr = key - m->bias, start = 0;
            const char *fn = m->full.syms ? lookup(&m->full, addr, &start) : NULL;
            if (!fn && m->dyn.syms) fn = lookup(&m->dyn, addr, &start);
            c->module = (int)(m - modules) + 1;
            c->function = fn;
            c->function_start = start;
        }
    }
    if (c->module) {
        struct module *m = &modules[c->module - 1];
        out->module = m->path;
        out->offset = pc - m->bias;
        out->function = c->function;
        out->function_len = c->function ? strcspn(c->function, "@") : 0;
        out->function_offset = c->function ? pc - m->bias - c->function_start : 0;
    }
    release();
    errno = saved;
}
