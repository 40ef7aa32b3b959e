/* rng.c: seeding and draw bookkeeping for the libc generators (see rng.h). */
#include "track/rng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/backtrace.h"
#include "base/fmt.h"
#include "base/options.h"
#include "findings/report.h"
#include "out/suppress.h"
#include "track/threads.h"

struct fa_rng_state fa_rng[FA_RNG_COUNT];

void fa_rng_seeded(enum fa_rng_family f, const char *fn, unsigned long long seed, const void *call_site)
{
    struct fa_rng_state *s = &fa_rng[f];
    s->seed = seed;
    s->seeded_by = fn;
    s->draws = 0;
    s->inherited = 0; /* reseeded (in a child: no longer the parent's sequence) */
    s->nframes = fa_backtrace(s->frames, fa_opts.stack_depth, call_site);
    __atomic_store_n(&s->seeded, 1, __ATOMIC_RELEASE);
}

const char *fa_rng_family_name(enum fa_rng_family f, const struct fa_rng_state *s)
{
    if (f == FA_RNG_DRAND48) return "drand48";
    const char *by = s->seeded ? s->seeded_by : s->drawn_by;
    return by && strcmp(by, "srand") != 0 && strcmp(by, "rand") != 0 ? "random" : "rand";
}

void fa_rng_after_fork_child(void)
{
    for (int f = 0; f < FA_RNG_COUNT; f++) {
        struct fa_rng_state *s = &fa_rng[f];
        int inherited = s->seeded || s->draws > 0;
        if (s->inherited != inherited) s->inherited = inherited;
        if (inherited) {
            s->reported = 0;
            s->draws_at_fork = s->draws;
        }
    }
}

/* Replaying further than this to show the parent's value costs too much: no proof then. */
#define REPLAY_MAX 10000000ULL

/* The value the parent's generator gave (or gives) at draw number `k` (0 = first after
 * seeding), replayed from the seed with the reentrant functions (caller-owned state: the
 * program's generator is untouched). 0 when it cannot be replayed. */
static int replay_random(const struct fa_rng_state *s, unsigned long long k, long long *out)
{
    char state[256];
    struct random_data rd;
    memset(&rd, 0, sizeof rd);
    size_t n = s->state_size ? s->state_size : 128; /* srandom's default state: TYPE_3 */
    if (n > sizeof state) n = sizeof state;
    if (k >= REPLAY_MAX || initstate_r(s->seeded ? (unsigned)s->seed : 1, state, n, &rd) != 0) return 0;
    int32_t r = 0;
    for (unsigned long long i = 0; i <= k; i++) random_r(&rd, &r);
    *out = r;
    return 1;
}

static int replay_drand48(const struct fa_rng_state *s, unsigned long long k, const char *fn, long long *out)
{
    struct drand48_data d;
    memset(&d, 0, sizeof d);
    if (k >= REPLAY_MAX) return 0;
    if (s->seeded && strcmp(s->seeded_by, "srand48") == 0) {
        srand48_r((long)s->seed, &d);
    } else {
        /* seed48's value, or X0 = 0 when never seeded: glibc's state starts zeroed and its
         * first call only sets a and c (drand48-iter.c), whatever srand48's 0x330e suggests */
        unsigned long long x = s->seeded ? s->seed : 0;
        if (s->seeded && strcmp(s->seeded_by, "seed48") != 0) return 0; /* lcong48: other a, c */
        unsigned short v[3] = {(unsigned short)x, (unsigned short)(x >> 16), (unsigned short)(x >> 32)};
        seed48_r(v, &d);
    }
    long skip;
    for (unsigned long long i = 0; i < k; i++) lrand48_r(&d, &skip); /* every call steps the same LCG */
    if (strcmp(fn, "drand48") == 0) {
        double v;
        drand48_r(&d, &v);
        memcpy(out, &v, sizeof v);
    } else if (strcmp(fn, "mrand48") == 0) {
        long v;
        mrand48_r(&d, &v);
        *out = v;
    } else {
        long v;
        lrand48_r(&d, &v);
        *out = v;
    }
    return 1;
}

/* The rule that silences a reuse report: the seeding site when known (matched there as
 * well as at the draw), else the draw. */
static void suggest_rule(struct fa_buf *b, const struct fa_rng_state *s, const uintptr_t *pc, int n)
{
    if (s->seeded && s->nframes > 0) fa_suppress_suggest(b, "rng-reused-in-child", s->frames, s->nframes, NULL);
    else fa_suppress_suggest(b, "rng-reused-in-child", pc, n, NULL);
}

/* A drand48 value in [0, 1) as decimal, from its bits (no stdio here). */
static void put_drawn(struct fa_buf *b, enum fa_rng_family f, const char *fn, long long bits)
{
    if (f != FA_RNG_DRAND48 || strcmp(fn, "drand48") != 0) {
        fa_put_dec(b, bits);
        return;
    }
    double d;
    memcpy(&d, &bits, sizeof d);
    char digits[18];
    unsigned long long frac = (unsigned long long)(d * 1e17);
    for (int i = 16; i >= 0; i--, frac /= 10) digits[i] = (char)('0' + frac % 10);
    digits[17] = 0;
    fa_puts(b, "0.");
    fa_puts(b, digits);
}

void fa_rng_reused(enum fa_rng_family f, const char *fn, long long value, const void *call_site)
{
    struct fa_rng_state *s = &fa_rng[f];
    if (s->reported || fa_in_auditor) return;
    s->reported = 1;
    int saved = errno;
    fa_in_auditor++;
    long long parent = 0;
    int known = f == FA_RNG_RANDOM ? replay_random(s, s->draws_at_fork, &parent)
                                   : replay_drand48(s, s->draws_at_fork, fn, &parent);
    uintptr_t pc[FA_MAX_FRAMES];
    int n = fa_backtrace(pc, fa_opts.stack_depth, call_site);
    struct fa_buf b;
    int suppressed = fa_suppress_frames("rng-reused-in-child", s->frames, s->nframes) ||
                     fa_suppress_frames("rng-reused-in-child", pc, n);
    if (!suppressed && fa_buf_mapped(&b, 1 << 16) == 0) {
        const char *family = fa_rng_family_name(f, s);
        if (fa_opts.format == FA_FORMAT_JSON) {
            fa_render_child_record_json(&b, "rng-reused-in-child", "warning", pc, n);
            fa_puts(&b, ",\"rng\":{\"family\":\"");
            fa_puts(&b, family);
            fa_puts(&b, "\",\"drawn_by\":\"");
            fa_puts(&b, fn);
            fa_putc(&b, '"');
            if (s->seeded) {
                fa_puts(&b, ",\"seed\":");
                fa_put_udec(&b, s->seed);
                fa_puts(&b, ",\"seeded_by\":\"");
                fa_puts(&b, s->seeded_by);
                fa_puts(&b, "\",\"seeded_at\":");
                fa_render_frames_json(&b, s->frames, s->nframes);
            }
            fa_puts(&b, ",\"draws_at_fork\":");
            fa_put_udec(&b, s->draws_at_fork);
            fa_puts(&b, ",\"value\":");
            put_drawn(&b, f, fn, value);
            if (known) {
                fa_puts(&b, ",\"parent_value\":");
                put_drawn(&b, f, fn, parent);
                fa_puts(&b, parent == value ? ",\"same\":true" : ",\"same\":false");
            }
            fa_puts(&b, "},\"suppression\":");
            char rule[300];
            struct fa_buf rb;
            fa_buf_fixed(&rb, rule, sizeof rule);
            suggest_rule(&rb, s, pc, n);
            fa_buf_terminate(&rb);
            fa_put_json_str(&b, rule);
            fa_puts(&b, "}\n");
        } else {
            pid_t pid = fa_getpid();
            fa_render_prefix(&b, pid);
            fa_puts(&b, "forkaudit: WARNING: rng-reused-in-child: this child drew ");
            put_drawn(&b, f, fn, value);
            fa_puts(&b, " from ");
            fa_puts(&b, fn);
            fa_puts(&b, "(), draw #");
            fa_put_udec(&b, s->draws_at_fork + 1);
            fa_puts(&b, " of the ");
            fa_puts(&b, family);
            fa_puts(&b, "() sequence it inherited without reseeding\n");
            fa_render_prefix(&b, pid);
            if (known && parent == value) {
                fa_puts(&b, "  the parent drew (or will draw) the same number at that position: ");
                put_drawn(&b, f, fn, parent);
                fa_putc(&b, '\n');
            } else {
                fa_puts(&b, "  parent and child continue one sequence from the same state\n");
            }
            if (s->seeded) {
                fa_render_prefix(&b, pid);
                fa_puts(&b, "  seeded with ");
                fa_put_udec(&b, s->seed);
                fa_puts(&b, " by ");
                fa_puts(&b, s->seeded_by);
                fa_puts(&b, " at:\n");
                fa_render_frames_text(&b, pid, s->frames, s->nframes, "    ");
            }
            fa_render_prefix(&b, pid);
            fa_puts(&b, "  drawn in the child at:\n");
            fa_render_frames_text(&b, pid, pc, n, "    ");
            fa_render_prefix(&b, pid);
            fa_puts(&b, "  suppress with: ");
            suggest_rule(&b, s, pc, n);
            fa_putc(&b, '\n');
            fa_render_prefix(&b, pid);
            fa_putc(&b, '\n');
        }
        fa_report_write(&b);
        fa_buf_release(&b);
    }
    fa_in_auditor--;
    errno = saved;
}
