/* atfork.c: the table of other libraries' prepare handlers and the 64 trampolines that
 * run them (see atfork.h). */
#include "track/atfork.h"

#include <dlfcn.h>

#include "track/threads.h"

void (*fa_foreign_prepare[FA_TRAMPOLINES])(void);
void *fa_foreign_dso[FA_TRAMPOLINES];
static int claimed[FA_TRAMPOLINES];
unsigned long fa_prepare_unwrapped;

static void run_prepare(int k)
{
    void (*prepare)(void) = __atomic_load_n(&fa_foreign_prepare[k], __ATOMIC_ACQUIRE);
    struct fa_thread *self = fa_thread_current();
    if (!prepare) return;
    if (self) {
        self->in_prepare++;
        self->held.slow++;
        self->prepare_ran |= 1ULL << k; /* named in this fork's report */
    }
    prepare();
    if (self) {
        self->in_prepare--;
        self->held.slow--;
    }
}

#define T1(k, j) static void trampoline_##k##_##j(void) { run_prepare((k) * 8 + (j)); }
#define T8(k) T1(k, 0) T1(k, 1) T1(k, 2) T1(k, 3) T1(k, 4) T1(k, 5) T1(k, 6) T1(k, 7)
T8(0) T8(1) T8(2) T8(3) T8(4) T8(5) T8(6) T8(7)
#define R8(k) trampoline_##k##_0, trampoline_##k##_1, trampoline_##k##_2, trampoline_##k##_3, \
              trampoline_##k##_4, trampoline_##k##_5, trampoline_##k##_6, trampoline_##k##_7
static void (*const trampolines[FA_TRAMPOLINES])(void) = {R8(0), R8(1), R8(2), R8(3), R8(4), R8(5), R8(6), R8(7)};

void (*fa_atfork_wrap_prepare(void (*prepare)(void), void *dso))(void)
{
    int k = 0;
    for (; k < FA_TRAMPOLINES; k++) {
        int expect = 0;
        if (__atomic_compare_exchange_n(&claimed[k], &expect, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) break;
    }
    if (k == FA_TRAMPOLINES) {
        __atomic_add_fetch(&fa_prepare_unwrapped, 1, __ATOMIC_RELAXED);
        return prepare;
    }
    fa_foreign_dso[k] = dso; /* before the handler is visible: dlclose reads them in that order */
    __atomic_store_n(&fa_foreign_prepare[k], prepare, __ATOMIC_RELEASE);
    return trampolines[k];
}

void fa_atfork_forget_unloaded(void)
{
    for (int k = 0; k < FA_TRAMPOLINES; k++) {
        Dl_info info;
        void (*prepare)(void) = __atomic_load_n(&fa_foreign_prepare[k], __ATOMIC_ACQUIRE);
        if (!prepare || !fa_foreign_dso[k] || dladdr(fa_foreign_dso[k], &info)) continue;
        /* Only the entry just read: a concurrent dlclose may have freed it already. */
        if (__atomic_compare_exchange_n(&fa_foreign_prepare[k], &prepare, NULL, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED)) {
            fa_foreign_dso[k] = NULL;
            __atomic_store_n(&claimed[k], 0, __ATOMIC_RELEASE);
        }
    }
}
