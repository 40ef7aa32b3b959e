/* fa.h: small definitions that every file of the library shares. */
#ifndef FA_H
#define FA_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Interposed symbols and the public API are the only exports (-fvisibility=hidden). */
#define FA_EXPORT __attribute__((visibility("default")))
/* The library is always loaded at start-up, so initial-exec TLS is valid and avoids
 * __tls_get_addr on the hot path. */
#define FA_TLS __thread __attribute__((tls_model("initial-exec")))
#define FA_LIKELY(x) __builtin_expect(!!(x), 1)
#define FA_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* A macro's value as a string literal ("64" for FA_MAX_FRAMES). */
#define FA_STR_(x) #x
#define FA_STR(x) FA_STR_(x)

/* Deepest stack any record carries (option stack_depth is clamped to it). */
#define FA_MAX_FRAMES 64
/* Deepest acquisition stack kept per held lock (option lock_stack_depth). */
#define FA_MAX_LOCK_FRAMES 8

/* A captured stack: raw program counters, innermost first. */
struct fa_stack {
    int n;
    uintptr_t pc[FA_MAX_FRAMES];
};

#endif
