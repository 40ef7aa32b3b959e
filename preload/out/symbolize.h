/* symbolize.h: turn program counters into module+offset and function names, reading
 * /proc/self/maps and the ELF symbol tables (.symtab, so static functions of unstripped
 * binaries get names too; then .dynsym; then a separate debug file found by build-id under
 * /usr/lib/debug). Uses only system calls and mmap: callable at fork time and in a child
 * before exec. C++ names are demangled only where fa_symbolize_demangle_here allows it
 * (symbolize.c says where and why); elsewhere a name demangled before is used, or the
 * mangled one. */
#ifndef FA_SYMBOLIZE_H
#define FA_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

struct fa_frame_info {
    const char *module;       /* path of the object, NULL when pc is in no file mapping */
    uintptr_t offset;         /* pc as an address of the ELF file (pc minus load bias) */
    const char *function;     /* NULL when no symbol covers pc; not NUL-terminated: */
    size_t function_len;      /* ... its length (a "@VERSION" suffix left out) */
    uintptr_t function_offset;
    const char *mangled;      /* the symbol's own name when `function` is its demangled */
    size_t mangled_len;       /* form (C++), else NULL/0; not NUL-terminated either */
};

/* Describes `pc`. When `is_return_address` is 1 the lookup uses pc-1, so a call at the
 * very end of a function is attributed to it; use 0 for a function's own address. Never
 * fails: unknown parts are NULL/0. Thread-safe; re-entry from a signal handler on the same
 * thread gives no names rather than waiting. */
void fa_symbolize(uintptr_t pc, int is_return_address, struct fa_frame_info *out);
/* The name of the function that starts exactly at `fn` (a start routine, a handler) into
 * `out` (NUL-terminated); "" and NULL returned when none does or it does not fit. */
const char *fa_function_name(const void *fn, char *out, size_t cap);
/* Calls fn(name, size, address) for every defined function of the loaded modules but
 * those skip_module(path) refuses (.symtab where there is one, else .dynsym; names as the
 * tables spell them, mangled). System calls and mmap only. */
typedef void fa_function_fn(const char *name, size_t size, uintptr_t addr, void *ctx);
void fa_symbolize_each_function(int (*skip_module)(const char *path), fa_function_fn *fn, void *ctx);
/* 1: this thread may demangle C++ names (it may call malloc) until called with 0. */
void fa_symbolize_demangle_here(int on);
/* In a forked child: the parent's state is not there (MADV_DONTFORK); start afresh. */
void fa_symbolize_after_fork_child(void);
/* A library was unloaded: module table and cache are rebuilt before the next lookup. */
void fa_symbolize_invalidate(void);

#endif
