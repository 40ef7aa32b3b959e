/* thread_names.c: see thread_names.h. A std::thread's argument is its _State_impl: a
 * vtable pointer (slot 2: _M_run, instantiated for the callable:
 * std::thread::_State_impl<std::thread::_Invoker<std::tuple<F, Args...> > >::_M_run()),
 * then the tuple, which holds a function pointer callable as a code address. */
#include "out/thread_names.h"

#include <stdint.h>
#include <string.h>

#include "base/process.h"
#include "out/symbolize.h"

static int in_libstdcxx(const struct fa_frame_info *fi)
{
    if (!fi->module) return 0;
    const char *base = strrchr(fi->module, '/');
    return !strncmp(base ? base + 1 : fi->module, "libstdc++", 9);
}

static const char *copy(const char *p, size_t n, char *out, size_t cap)
{
    if (!p || n == 0 || n >= cap) return NULL;
    memcpy(out, p, n);
    out[n] = 0;
    return out;
}

/* "F" of "...std::tuple<F, Args...> >...": the callable's type (a lambda's name). */
static const char *tuple_head(const char *name, size_t len, char *out, size_t cap)
{
    const char *open = NULL;
    for (size_t i = 0; i + 11 <= len && !open; i++)
        if (!memcmp(name + i, "std::tuple<", 11)) open = name + i + 11;
    if (!open) return NULL;
    int depth = 0;
    for (const char *p = open; p < name + len; p++) {
        if (*p == '<' || *p == '(') depth++;
        else if ((*p == '>' || *p == ')') && depth > 0) depth--;
        else if ((*p == ',' || *p == '>') && depth == 0) return copy(open, (size_t)(p - open), out, cap);
    }
    return NULL;
}

static const char *std_thread_callable(const void *arg, char *out, size_t cap)
{
    uintptr_t obj[6], vslot;
    if (!arg || ((uintptr_t)arg & 7) || fa_read_memory(obj, (uintptr_t)arg, sizeof obj) != 0) return NULL;
    if (fa_read_memory(&vslot, obj[0] + 2 * sizeof(uintptr_t), sizeof vslot) != 0) return NULL;
    struct fa_frame_info run;
    fa_symbolize(vslot, 0, &run);
    if (!run.function || run.function_offset != 0) return NULL;
    /* a plain function: its pointer is in the tuple, first word that is a function's start */
    for (int i = 1; i < 6; i++) {
        struct fa_frame_info fi;
        fa_symbolize(obj[i], 0, &fi);
        if (fi.function && fi.function_offset == 0 && !in_libstdcxx(&fi) && copy(fi.function, fi.function_len, out, cap))
            return out;
    }
    if (tuple_head(run.function, run.function_len, out, cap)) return out; /* a lambda, a functor */
    return copy(run.function, run.function_len, out, cap);
}

const char *fa_start_routine_name(const void *fn, const void *arg, char *out, size_t cap)
{
    if (cap) out[0] = 0;
    if (!fn || !cap) return NULL;
    struct fa_frame_info fi;
    fa_symbolize((uintptr_t)fn, 0, &fi);
    if (fi.function && fi.function_offset == 0 && !in_libstdcxx(&fi)) return copy(fi.function, fi.function_len, out, cap);
    if (in_libstdcxx(&fi)) {
        const char *callable = std_thread_callable(arg, out, cap);
        if (callable) return callable;
    }
    return fi.function && fi.function_offset == 0 ? copy(fi.function, fi.function_len, out, cap) : NULL;
}
