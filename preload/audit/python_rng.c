/* python_rng.c: see python_rng.h.
 *
 * Found through the object API (this thread holds the GIL; attributes read with
 * PyObject_GenericGetAttr, so no __getattr__ or property of the program runs):
 *   - numpy's global generator: sys.modules["numpy.random.mtrand"]._rand;
 *   - in __main__ and every module of the program's own code (a file outside the standard
 *     library and outside site-packages/dist-packages), each global whose value is a
 *     numpy.random.mtrand.RandomState, a numpy.random._generator.Generator, or an instance
 *     of _random.Random (random.Random and its subclasses; not random.SystemRandom, which
 *     has no state, and not random._inst, which CPython reseeds in the child).
 * Layouts read directly, each checked where it can be:
 *   - CPython's _random.Random object (3.8-3.13): the object head, int index, uint32_t
 *     state[624];
 *   - numpy's bit generator: its "capsule" attribute, a PyCapsule named "BitGenerator"
 *     holding a bitgen_t whose first member points at the generator's state: MT19937's is
 *     uint32_t key[624], int pos (numpy 1.17+); PCG64's a pointer to {state, inc} (two
 *     128-bit integers where the compiler has them, as numpy is built then).
 * The next outputs are computed here from a copy of the state: the generator is never
 * called. random() of CPython and of numpy's MT19937 is (a >> 5) * 2**26 + (b >> 6) over
 * 2**53 for the next two 32-bit words a, b; numpy's PCG64 random() is (next64 >> 11) / 2**53. */
#include "audit/python_rng.h"

#include <dlfcn.h>
#include <stdint.h>
#include <string.h>

#include "base/fmt.h"
#include "base/options.h"
#include "track/locks.h"

/* Two functions base/python.h does not list, found once, at the first Python fork. */
static int (*type_is_subtype)(void *a, void *b);              /* PyType_IsSubtype */
static void *(*capsule_pointer)(void *capsule, const char *name); /* PyCapsule_GetPointer */
static int resolved;

static int resolve(void)
{
    if (!resolved) {
        *(void **)&type_is_subtype = dlsym(RTLD_DEFAULT, "PyType_IsSubtype");
        *(void **)&capsule_pointer = dlsym(RTLD_DEFAULT, "PyCapsule_GetPointer");
        resolved = 1;
    }
    return type_is_subtype != NULL;
}

/* ------------------------------------------------------------- objects */


static void *module(const struct fa_py_api *py, const char *name)
{
    void *modules = py->sys_get_object("modules"); /* borrowed */
    return modules ? py->dict_get_item_string(modules, name) : NULL; /* borrowed */
}

static void *type_of(const void *obj) { return ((void *const *)obj)[1]; }

static void copy(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap) n = cap - 1;
    if (n) memcpy(dst, src, n);
    dst[n] = 0;
}

/* ------------------------------------------------------------- MT19937, PCG64 */

#define MT_N 624
#define MT_M 397

static void mt_twist(uint32_t *mt)
{
    for (int i = 0; i < MT_N; i++) {
        uint32_t y = (mt[i] & 0x80000000U) | (mt[(i + 1) % MT_N] & 0x7fffffffU);
        mt[i] = mt[(i + MT_M) % MT_N] ^ (y >> 1) ^ ((y & 1U) ? 0x9908b0dfU : 0U);
    }
}

static uint32_t mt_temper(uint32_t y)
{
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680U;
    y ^= (y << 15) & 0xefc60000U;
    return y ^ (y >> 18);
}

/* The next two 32-bit outputs of the generator at `pos` of `key`, from a copy. */
static void mt_next2(const uint32_t *key, int pos, uint32_t out[2])
{
    uint32_t mt[MT_N];
    memcpy(mt, key, sizeof mt);
    for (int k = 0; k < 2; k++) {
        if (pos >= MT_N) {
            mt_twist(mt);
            pos = 0;
        }
        out[k] = mt_temper(mt[pos++]);
    }
}

/* What the state says of its use. init_by_array (CPython's seed(), numpy's legacy seed of
 * an array) leaves pos = 624 and key[0] = 0x80000000; numpy's legacy seed(int)
 * (init_genrand) leaves pos = 624 and key[i] = 1812433253 * (key[i-1] ^ key[i-1] >> 30) + i,
 * key[0] the seed; numpy's MT19937 seeded from a SeedSequence (`seed_sequence`) has
 * key[0] = 0x80000000 and pos = 623 (MT19937.__init__'s loop leaves its index there).
 * Draws that bring pos back to where it was leave a key matching none of these, but for
 * a chance of 2**-32. */
static int mt_use(const uint32_t *key, int pos, int seed_sequence, int *seed_known, unsigned long long *seed)
{
    if (seed_sequence) return pos == MT_N - 1 && key[0] == 0x80000000U ? FA_PY_RNG_SEEDED : FA_PY_RNG_DRAWN;
    if (pos != MT_N) return FA_PY_RNG_DRAWN;
    if (key[0] == 0x80000000U) return FA_PY_RNG_SEEDED;
    for (int i = 1; i < MT_N; i++)
        if (key[i] != 1812433253U * (key[i - 1] ^ (key[i - 1] >> 30)) + (uint32_t)i) return FA_PY_RNG_DRAWN;
    *seed_known = 1;
    *seed = key[0];
    return FA_PY_RNG_SEEDED;
}

static void mt_fill(struct fa_snap_py_rng *r, const uint32_t *key, int pos)
{
    uint32_t w[2];
    mt_next2(key, pos, w);
    r->next_raw = w[0];
    r->raw_bits = 32;
    r->next_random = (unsigned long long)(w[0] >> 5) << 26 | (w[1] >> 6);
    r->next_unknown = NULL;
}

#ifdef __SIZEOF_INT128__
struct pcg64_state {
    unsigned __int128 state, inc;
};
/* numpy's pcg64_next64: one LCG step, then the XSL-RR output of the new state. */
static void pcg64_fill(struct fa_snap_py_rng *r, const struct pcg64_state *p)
{
    const unsigned __int128 mult = (unsigned __int128)2549297995355413924ULL << 64 | 4865540595714422341ULL;
    unsigned __int128 st = p->state * mult + p->inc;
    uint64_t x = (uint64_t)(st >> 64) ^ (uint64_t)st;
    unsigned rot = (unsigned)(st >> 122);
    uint64_t out = (x >> rot) | (x << ((64 - rot) & 63));
    r->next_raw = out;
    r->raw_bits = 64;
    r->next_random = out >> 11;
    r->next_unknown = NULL;
}
#endif

/* ------------------------------------------------------------- the generators */

struct found {
    struct fa_snapshot *s;
    const struct fa_py_api *py;
    const void *seen[FA_PY_RNGS]; /* the objects of s->py_rng, in order */
    const void *skip;             /* random._inst */
    const void *quiet;            /* numpy's global generator when left out (untouched, verbosity=0) */
    void *random_type, *system_random_type; /* _random.Random, random.SystemRandom */
};

/* A new entry for `obj` bound to `modname`.`key`, NULL when it is listed already, is
 * random._inst, or the table is full (counted). */
static struct fa_snap_py_rng *entry(struct found *f, const void *obj, const char *modname, const char *key)
{
    struct fa_snapshot *s = f->s;
    if (obj == f->skip || obj == f->quiet) return NULL;
    for (int i = 0; i < s->npy_rng; i++)
        if (f->seen[i] == obj) return NULL;
    if (s->npy_rng >= FA_PY_RNGS) {
        s->py_rng_dropped++;
        return NULL;
    }
    f->seen[s->npy_rng] = obj;
    struct fa_snap_py_rng *r = &s->py_rng[s->npy_rng++];
    memset(r, 0, sizeof *r);
    copy(r->type, sizeof r->type, fa_python_type_name(obj));
    struct fa_buf b;
    fa_buf_fixed(&b, r->name, sizeof r->name);
    fa_puts(&b, modname);
    fa_putc(&b, '.');
    fa_puts(&b, key);
    fa_buf_terminate(&b);
    r->next_unknown = "its state could not be read";
    return r;
}

/* 1 when the semaphore of threading lock `lock` is held (numpy's bit generators are drawn
 * from under their lock with the GIL released: another thread is drawing). */
static int lock_held(const struct fa_snapshot *s, const void *lock)
{
    if (!lock || strcmp(fa_python_type_name(lock), "_thread.lock") != 0) return 0;
    const void *sem = *(void *const *)((const char *)lock + 2 * sizeof(void *));
    for (int i = 0; i < s->nlocks; i++)
        if (s->locks[i].held.type == FA_LOCK_SEM && s->locks[i].held.addr == sem) return 1;
    return 0;
}

/* The numpy seed still known: an int entropy of its SeedSequence (default_rng(42)). */
static void numpy_seed_sequence(const struct fa_py_api *py, void *bitgen, struct fa_snap_py_rng *r, int *legacy)
{
    void *seq = fa_python_attr(py, bitgen, "_seed_seq");
    const char *t = fa_python_type_name(seq);
    *legacy = seq && strcmp(t, "NoneType") == 0; /* seed() of RandomState sets it to None */
    void *entropy = seq && !*legacy ? fa_python_attr(py, seq, "entropy") : NULL;
    if (entropy && strcmp(fa_python_type_name(entropy), "int") == 0 && !r->seed_known) {
        unsigned long v = py->long_as_unsigned_long(entropy);
        if (v == (unsigned long)-1) py->err_clear(); /* too large for a seed field: not shown */
        else {
            r->seed_known = 1;
            r->seed = v;
            r->seeded_by = "SeedSequence";
        }
    }
    if (entropy) py->decref(entropy);
    if (seq) py->decref(seq);
}

/* A RandomState or a Generator: its bit generator's state through the capsule. */
static void numpy_entry(struct found *f, void *obj, const char *modname, const char *key, int global)
{
    const struct fa_py_api *py = f->py;
    void *bitgen = fa_python_attr(py, obj, "_bit_generator");
    if (!bitgen) return;
    const char *bt = fa_python_type_name(bitgen);
    const char *dot = strrchr(bt, '.');
    struct fa_snap_py_rng *r = entry(f, obj, modname, key);
    if (!r) goto out;
    r->family = FA_RNG_NUMPY;
    r->global = global;
    copy(r->bit_generator, sizeof r->bit_generator, dot ? dot + 1 : bt);
    void *lock = fa_python_attr(py, bitgen, "lock");
    int busy = lock_held(f->s, lock);
    if (lock) py->decref(lock);
    void *capsule = capsule_pointer ? fa_python_attr(py, bitgen, "capsule") : NULL;
    void *const *bitgen_t = NULL;
    if (capsule && strcmp(fa_python_type_name(capsule), "PyCapsule") == 0) {
        bitgen_t = capsule_pointer(capsule, "BitGenerator");
        if (!bitgen_t) py->err_clear();
    }
    if (capsule) py->decref(capsule);
    const void *state = bitgen_t ? bitgen_t[0] : NULL;
    int legacy = 0;
    numpy_seed_sequence(py, bitgen, r, &legacy);
    r->use = FA_PY_RNG_USE_UNKNOWN;
    if (state && strcmp(bt, "numpy.random._mt19937.MT19937") == 0) {
        const uint32_t *mt = state;
        int pos = *(const int *)(mt + MT_N);
        if (pos >= 0 && pos <= MT_N) {
            r->use = mt_use(mt, pos, !legacy, &r->seed_known, &r->seed);
            mt_fill(r, mt, pos);
        }
#ifdef __SIZEOF_INT128__
    } else if (state && strcmp(bt, "numpy.random._pcg64.PCG64") == 0) {
        const struct pcg64_state *p = *(const struct pcg64_state *const *)state;
        if (p) pcg64_fill(r, p);
#endif
    } else if (state) {
        r->next_unknown = "forkaudit does not compute this bit generator's output";
    }
    if (legacy) r->seeded_by = global ? "numpy.random.seed" : "RandomState(seed) or seed()";
    if (global && !legacy && r->use == FA_PY_RNG_SEEDED) r->use = FA_PY_RNG_UNTOUCHED;
    if (busy) r->next_unknown = "another thread was drawing from it (its lock was held at the fork)";
    if (r->use == FA_PY_RNG_UNTOUCHED && fa_opts.verbosity < 1) { /* a note: shown with verbosity=1 */
        f->s->npy_rng--;
        f->quiet = obj;
    }
out:
    py->decref(bitgen);
}

/* A random.Random instance: CPython's RandomObject. */
static void random_entry(struct found *f, const void *obj, const char *modname, const char *key)
{
    struct fa_snap_py_rng *r = entry(f, obj, modname, key);
    if (!r) return;
    r->family = FA_RNG_PY_RANDOM;
    /* after the object head (refcount, type): int index, then uint32_t state[624] */
    const char *body = (const char *)obj + 2 * sizeof(void *);
    int index = *(const int *)body;
    const uint32_t *mt = (const uint32_t *)(body + sizeof(int));
    if (index < 0 || index > MT_N) return;
    int seed_known = 0; /* CPython seeds through init_by_array: the seed is not in the state */
    unsigned long long seed;
    r->use = mt_use(mt, index, 0, &seed_known, &seed);
    mt_fill(r, mt, index);
}

static void value(struct found *f, void *v, const char *modname, const char *key)
{
    const char *t = fa_python_type_name(v);
    if (strcmp(t, "numpy.random.mtrand.RandomState") == 0 || strcmp(t, "numpy.random._generator.Generator") == 0) {
        numpy_entry(f, v, modname, key, 0);
        return;
    }
    if (f->random_type && type_is_subtype(type_of(v), f->random_type) &&
        !(f->system_random_type && type_is_subtype(type_of(v), f->system_random_type)))
        random_entry(f, v, modname, key);
}

/* The program's own code: __main__, and a module whose file is outside the standard
 * library's directory and outside installed packages (as out/pystack.c's `own`). */
static int own_module(const struct fa_py_api *py, const char *modname, void *globals, const char *stdlib_dir)
{
    if (strcmp(modname, "__main__") == 0) return 1;
    const char *file = fa_python_utf8(py, py->dict_get_item_string(globals, "__file__"));
    if (!file || file[0] != '/') return 0;
    size_t n = strlen(stdlib_dir);
    if (n && strncmp(file, stdlib_dir, n) == 0) return 0;
    return !strstr(file, "/site-packages/") && !strstr(file, "/dist-packages/");
}

static void module_globals(struct found *f, const char *modname, void *mod, const char *stdlib_dir)
{
    const struct fa_py_api *py = f->py;
    if (strcmp(fa_python_type_name(mod), "module") != 0) return;
    void *globals = fa_python_attr(py, mod, "__dict__");
    if (globals && strcmp(fa_python_type_name(globals), "dict") == 0 && own_module(py, modname, globals, stdlib_dir)) {
        long pos = 0;
        void *key, *v;
        while (py->dict_next(globals, &pos, &key, &v)) {
            const char *k = fa_python_utf8(py, key);
            if (k) value(f, v, modname, k);
        }
    }
    if (globals) py->decref(globals);
}

void fa_python_rng_capture(struct fa_snapshot *s, const struct fa_py_api *py)
{
    if (!s->py_rng || !fa_python_can_call(py) || !resolve()) return;
    void *type, *val, *tb;
    py->err_fetch(&type, &val, &tb);
    struct found f = {.s = s, .py = py};
    void *random_mod = module(py, "random");
    void *inst = fa_python_attr(py, random_mod, "_inst");
    f.skip = inst;
    f.random_type = fa_python_attr(py, module(py, "_random"), "Random");
    f.system_random_type = fa_python_attr(py, random_mod, "SystemRandom");
    if (f.random_type && strcmp(fa_python_type_name(f.random_type), "type") != 0) {
        py->decref(f.random_type);
        f.random_type = NULL;
    }
    if (f.system_random_type && strcmp(fa_python_type_name(f.system_random_type), "type") != 0) {
        py->decref(f.system_random_type);
        f.system_random_type = NULL;
    }
    /* numpy's global generator first: bound elsewhere too, it is reported by that name */
    void *global = fa_python_attr(py, module(py, "numpy.random.mtrand"), "_rand");
    if (global && strcmp(fa_python_type_name(global), "numpy.random.mtrand.RandomState") == 0)
        numpy_entry(&f, global, "numpy.random.mtrand", "_rand", 1);
    char stdlib_dir[256] = "";
    void *os_file = fa_python_attr(py, module(py, "os"), "__file__");
    const char *path = fa_python_utf8(py, os_file);
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (slash && (size_t)(slash - path + 1) < sizeof stdlib_dir) memcpy(stdlib_dir, path, (size_t)(slash - path + 1));
    if (os_file) py->decref(os_file);
    void *main = module(py, "__main__");
    if (main) module_globals(&f, "__main__", main, stdlib_dir);
    void *modules = py->sys_get_object("modules");
    if (modules && strcmp(fa_python_type_name(modules), "dict") == 0) {
        long pos = 0;
        void *modname, *mod;
        while (py->dict_next(modules, &pos, &modname, &mod)) {
            const char *m = fa_python_utf8(py, modname);
            if (m && mod != main) module_globals(&f, m, mod, stdlib_dir);
        }
    }
    if (global) py->decref(global);
    if (f.random_type) py->decref(f.random_type);
    if (f.system_random_type) py->decref(f.system_random_type);
    if (inst) py->decref(inst);
    py->err_restore(type, val, tb);
}
