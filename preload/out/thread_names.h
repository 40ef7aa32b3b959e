/* thread_names.h: how a thread's start routine is named in a report: its function's name;
 * for a std::thread (whose start routine is libstdc++'s, without a symbol), the callable
 * the program gave it; never a bare address when a name can be had. */
#ifndef FA_THREAD_NAMES_H
#define FA_THREAD_NAMES_H

#include <stddef.h>

/* The name of start routine `fn` run with argument `arg` into `out` (NUL-terminated), or
 * NULL when none is known (the caller shows the address). Reads `arg` only through
 * process_vm_readv (a wrong guess fails, never faults). */
const char *fa_start_routine_name(const void *fn, const void *arg, char *out, size_t cap);

#endif
