/* child_stuck_suspect.c: which of the parent's threads a stuck child most likely waits
 * for (see child_stuck.h). Pure: reads the event and symbolizes its stacks. */
#include "findings/child_stuck.h"

#include <string.h>

int fa_child_stuck_is_system(const struct fa_frame_info *f)
{
    if (!f->module) return 1;
    const char *base = strrchr(f->module, '/');
    base = base ? base + 1 : f->module;
    /* the Python interpreter too: its evaluation loop is on every Python thread's stack */
    return strncmp(base, "libc.so", 7) == 0 || strncmp(base, "ld-linux", 8) == 0 ||
           strncmp(base, "libpthread", 10) == 0 || strncmp(base, "libforkaudit", 12) == 0 ||
           strncmp(base, "python3", 7) == 0 || strncmp(base, "libpython3", 10) == 0;
}

static int same_function(const struct fa_frame_info *a, const struct fa_frame_info *b)
{
    return a->function && b->function && a->function_len == b->function_len &&
           memcmp(a->function, b->function, a->function_len) == 0 && a->module && b->module &&
           strcmp(a->module, b->module) == 0;
}

static int is_named(const struct fa_frame_info *f, const char *name)
{
    return f->function && f->function_len == strlen(name) && memcmp(f->function, name, f->function_len) == 0;
}

/* A tracked lock whose futex word is the one waited on, held by a thread now gone. */
static int holder_of_the_word(const struct fa_child_stuck *e, struct fa_child_suspect *best)
{
    for (int i = 0; i < e->nthreads; i++) {
        const struct fa_thread *t = &e->threads[i];
        if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != FA_SLOT_GONE) continue;
        for (int k = 0; k < fa_held_count(&t->held) && k < FA_HELD_MAX; k++) {
            uintptr_t a = (uintptr_t)t->held.e[k].addr;
            if (!a || e->wait.uaddr < a || e->wait.uaddr >= a + 32) continue;
            struct fa_buf ev;
            fa_buf_fixed(&ev, best->evidence, sizeof best->evidence);
            fa_puts(&ev, "it held the ");
            fa_puts(&ev, fa_lock_type_name(t->held.e[k].type));
            fa_puts(&ev, " whose futex word the child waits on");
            fa_buf_terminate(&ev);
            best->tid = t->tid;
            best->score = 3;
            return 1;
        }
    }
    return 0;
}

static void say_why(struct fa_child_suspect *best, int score, const struct fa_frame_info *theirs)
{
    struct fa_buf ev;
    fa_buf_fixed(&ev, best->evidence, sizeof best->evidence);
    const char *base = strrchr(theirs->module, '/');
    base = base ? base + 1 : theirs->module;
    if (score == 2) {
        fa_puts(&ev, "its stack at the fork was in ");
        fa_putsn(&ev, theirs->function, theirs->function_len);
        fa_puts(&ev, " (");
        fa_puts(&ev, base);
        fa_puts(&ev, "), a function on the child's blocked stack");
    } else {
        fa_puts(&ev, "its stack at the fork passed through ");
        fa_puts(&ev, base);
        if (theirs->function) {
            fa_puts(&ev, " (");
            fa_putsn(&ev, theirs->function, theirs->function_len);
            fa_putc(&ev, ')');
        }
        fa_puts(&ev, ", the library the child is blocked in");
    }
    fa_buf_terminate(&ev);
}

void fa_child_stuck_suspect(const struct fa_child_stuck *e, struct fa_child_suspect *best)
{
    best->tid = 0;
    best->score = 0;
    best->evidence[0] = 0;
    if (holder_of_the_word(e, best) || e->nparent_threads == 0) return;
    struct fa_frame_info mine[FA_MAX_FRAMES];
    int n = e->n < FA_MAX_FRAMES ? e->n : FA_MAX_FRAMES;
    int blocked_in = -1, outermost = -1; /* innermost and outermost frames of the program's own code */
    for (int i = 0; i < n; i++) {
        fa_symbolize(e->pc[i], i > 0, &mine[i]);
        if (fa_child_stuck_is_system(&mine[i])) continue;
        if (blocked_in < 0) blocked_in = i;
        outermost = i;
    }
    if (blocked_in < 0) return;
    for (int i = 0; i < e->nparent_threads; i++) {
        const struct fa_remembered_thread *t = &e->parent_threads[i];
        for (int f = 0; f < t->nstack; f++) {
            struct fa_frame_info theirs;
            fa_symbolize(t->stack[f], f > 0, &theirs);
            if (fa_child_stuck_is_system(&theirs) || is_named(&theirs, "main")) continue;
            int score = 0;
            for (int j = blocked_in; j < n && !score; j++)
                if (!fa_child_stuck_is_system(&mine[j]) && same_function(&mine[j], &theirs)) score = 2;
            /* the library the child is blocked in, unless it is the program itself */
            if (!score && theirs.module && mine[blocked_in].module &&
                strcmp(theirs.module, mine[blocked_in].module) == 0 &&
                strcmp(mine[blocked_in].module, mine[outermost].module) != 0)
                score = 1;
            if (score <= best->score) continue;
            say_why(best, score, &theirs);
            best->tid = t->tid;
            best->score = score;
        }
    }
}
