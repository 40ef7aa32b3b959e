/* nounwind_callback.so: built without unwind tables and without frame pointers (see the
 * Makefile), like optimised code from elsewhere. Its function calls back into the program,
 * so the program's stack at the callback runs through a frame no unwinder can walk. */
#include <stdint.h>

/* Six values live across the call fill the six callee-saved registers, %rbp among them:
 * during the callback %rbp holds `salt`-derived junk, not a frame address, and an
 * unwinder that guesses frames from %rbp must not follow it. The work after the call
 * keeps it a real call, not a tail call. */
__attribute__((noinline)) uint64_t nounwind_call(void (*callback)(void *), void *arg, uint64_t salt)
{
    uint64_t a = salt, b = salt ^ 0x5555, c = salt + 7, d = salt * 3, e = salt >> 3, f = ~salt;
    __asm__ volatile("" : "+r"(a), "+r"(b), "+r"(c), "+r"(d), "+r"(e), "+r"(f));
    callback(arg);
    __asm__ volatile("" : "+r"(a), "+r"(b), "+r"(c), "+r"(d), "+r"(e), "+r"(f));
    return a + b + c + d + e + f;
}
