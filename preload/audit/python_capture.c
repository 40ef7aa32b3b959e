/* python_capture.c: see python_capture.h.
 *
 * The stacks come from CPython's own async-signal-safe writer (faulthandler's), written
 * into a memfd and read back: it walks every thread state without allocating, and at
 * os.fork() the forking thread holds the GIL, so the other threads' frames stand still.
 * The rest uses the object API, only while this thread holds the GIL, reading attributes
 * with PyObject_GenericGetAttr (no __getattr__ or property of the program runs) and
 * keeping the program's pending exception as it was. Layouts read directly: a
 * _thread.lock and a _thread.RLock keep their PyThread_type_lock (a sem_t * in 3.8-3.12,
 * the semaphore our wrappers see) right after the object head. */
#include "audit/python_capture.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/process.h"
#include "audit/python_io.h"
#include "audit/python_rng.h"
#include "base/ownfd.h"
#include "base/python.h"
#include "out/pystack.h"
#include "track/locks.h"
#include "track/pylocks.h"

/* ------------------------------------------------------------- the stacks */

static size_t dump_into(const struct fa_py_api *py, void *tstate, int all, char *buf, size_t cap)
{
    long fd = fa_ownfd_memfd("forkaudit-python", MFD_CLOEXEC);
    if (fd < 0) return 0;
    if (all) py->dump_threads((int)fd, NULL, tstate);
    else py->dump_one((int)fd, tstate);
    size_t got = 0;
    while (got < cap) {
        long r = syscall(SYS_pread64, fd, buf + got, cap - got, (long)got);
        if (r <= 0) break;
        got += (size_t)r;
    }
    fa_ownfd_close(fd);
    return got;
}

size_t fa_python_dump_this_thread(char *buf, size_t cap)
{
    const struct fa_py_api *py = fa_python();
    if (!py || !py->dump_one || !py->is_initialized()) return 0;
    void *ts = py->this_thread_state();
    return ts ? dump_into(py, ts, 0, buf, cap) : 0;
}

/* ------------------------------------------------------------- objects */


static void copy_n(char *dst, size_t cap, const char *src, size_t n);
static void copy(char *dst, size_t cap, const char *src) { copy_n(dst, cap, src ? src : "", src ? strlen(src) : 0); }

/* The semaphore of a threading lock object, with its Python kind; NULL when `obj` is none.
 * Condition, Semaphore, Event, Barrier and queue.Queue are followed to the lock inside. */
/* NOLINTNEXTLINE(misc-no-recursion): a wrapper holds a lock or another wrapper; depth stops at 3 */
static const void *lock_of(const struct fa_py_api *py, void *obj, const char **kind, int depth)
{
    const char *t = fa_python_type_name(obj);
    if (strcmp(t, "_thread.lock") == 0 || strcmp(t, "_thread.RLock") == 0) {
        if (kind && !*kind) *kind = t[8] == 'l' ? "threading.Lock" : "threading.RLock";
        return *(void *const *)((const char *)obj + 2 * sizeof(void *));
    }
    static const struct {
        const char *type, *member, *kind;
    } wrappers[] = {
        {"Condition", "_lock", "threading.Condition"}, {"Semaphore", "_cond", "threading.Semaphore"},
        {"BoundedSemaphore", "_cond", "threading.BoundedSemaphore"}, {"Event", "_cond", "threading.Event"},
        {"Barrier", "_cond", "threading.Barrier"}, {"Queue", "mutex", "queue.Queue"},
    };
    if (depth > 2) return NULL;
    for (size_t i = 0; i < sizeof wrappers / sizeof wrappers[0]; i++) {
        if (strcmp(t, wrappers[i].type) != 0) continue;
        if (kind && !*kind) *kind = wrappers[i].kind;
        void *inner = fa_python_attr(py, obj, wrappers[i].member);
        const void *sem = inner ? lock_of(py, inner, NULL, depth + 1) : NULL;
        if (inner) py->decref(inner);
        return sem;
    }
    return NULL;
}

static struct fa_snap_lock *held_lock(struct fa_snapshot *s, const void *sem)
{
    for (int i = 0; sem && i < s->nlocks; i++)
        if (s->locks[i].held.addr == sem && s->locks[i].held.type == FA_LOCK_SEM) return &s->locks[i];
    return NULL;
}

/* Marks the held lock behind obj.member as repaired by CPython in the child. */
static void repaired(struct fa_snapshot *s, const struct fa_py_api *py, void *obj, const char *member)
{
    void *lock = member ? fa_python_attr(py, obj, member) : obj;
    struct fa_snap_lock *l = lock ? held_lock(s, lock_of(py, lock, NULL, 0)) : NULL;
    if (l) l->py_repaired = 1;
    if (member && lock) py->decref(lock);
}

static void *module(const struct fa_py_api *py, const char *name)
{
    void *modules = py->sys_get_object("modules"); /* borrowed */
    return modules ? py->dict_get_item_string(modules, name) : NULL; /* borrowed */
}

/* threading's names by ident, and the locks threading re-initialises in the child: every
 * thread's state lock and started event (threading._after_fork), its module locks. */
static void threading_state(struct fa_snapshot *s, const struct fa_py_api *py)
{
    void *threading = module(py, "threading");
    if (!threading) return;
    void *active = fa_python_attr(py, threading, "_active");
    if (active && strcmp(fa_python_type_name(active), "dict") == 0) {
        long pos = 0;
        void *key, *thread;
        while (py->dict_next(active, &pos, &key, &thread)) {
            unsigned long ident = py->long_as_unsigned_long(key);
            if (ident == (unsigned long)-1) py->err_clear();
            void *name = fa_python_attr(py, thread, "_name");
            if (s->py->nnames < FA_PY_NAMES) {
                struct fa_py_thread_name *n = &s->py->names[s->py->nnames++];
                n->self = ident;
                copy(n->name, sizeof n->name, fa_python_utf8(py, name));
            }
            if (name) py->decref(name);
            repaired(s, py, thread, "_tstate_lock");
            repaired(s, py, thread, "_started");
        }
    }
    if (active) py->decref(active);
    repaired(s, py, threading, "_active_limbo_lock");
    repaired(s, py, threading, "_shutdown_locks_lock");
}

/* logging's module lock (taken by its before-fork hook) and every handler's lock (in
 * logging._handlerList, weak references): its after-fork hook re-initialises them all. */
static void logging_state(struct fa_snapshot *s, const struct fa_py_api *py)
{
    void *logging = module(py, "logging");
    if (!logging) return;
    repaired(s, py, logging, "_lock");
    void *list = py->list_size && py->list_get_item && py->weakref_get_object ? fa_python_attr(py, logging, "_handlerList") : NULL;
    if (list && strcmp(fa_python_type_name(list), "list") == 0) {
        long n = py->list_size(list);
        for (long i = 0; i < n; i++) {
            void *ref = py->list_get_item(list, i); /* borrowed */
            void *handler = ref ? py->weakref_get_object(ref) : NULL; /* borrowed; None when gone */
            if (handler) repaired(s, py, handler, "lock");
        }
    }
    if (list) py->decref(list);
    py->err_clear();
}

/* The import lock: os.fork() takes it last before the fork (PyOS_BeforeFork), by a direct
 * call of PyThread_acquire_lock, and PyOS_AfterFork_Child re-initialises it: the forking
 * thread's newest semaphore taken from inside PyThread_acquire_lock_timed. */
static void import_lock(struct fa_snapshot *s, const struct fa_py_api *py)
{
    if (!py->acquire_lock_timed) return;
    for (int i = s->nlocks - 1; i >= 0; i--) {
        struct fa_snap_lock *l = &s->locks[i];
        if (!l->holder_is_forking_thread || l->held.type != FA_LOCK_SEM || l->held.nframes < 1) continue;
        Dl_info info;
        if (dladdr((void *)(l->held.frames[0] - 1), &info) && info.dli_saddr == (void *)py->acquire_lock_timed) l->py_repaired = 1;
        return; /* only the newest */
    }
}

/* Python names for the held locks left: module globals bound to them (the program's
 * `lock = threading.Lock()`), looked for only when a held semaphore is unnamed. */
static void name_locks(struct fa_snapshot *s, const struct fa_py_api *py)
{
    int unnamed = 0;
    for (int i = 0; i < s->nlocks; i++) unnamed += s->locks[i].held.type == FA_LOCK_SEM && !s->locks[i].py_kind;
    void *modules = unnamed ? py->sys_get_object("modules") : NULL;
    if (!modules || strcmp(fa_python_type_name(modules), "dict") != 0) return;
    long pos = 0;
    void *modname, *mod;
    while (unnamed > 0 && py->dict_next(modules, &pos, &modname, &mod)) {
        if (strcmp(fa_python_type_name(mod), "module") != 0) continue;
        void *globals = fa_python_attr(py, mod, "__dict__");
        if (globals && strcmp(fa_python_type_name(globals), "dict") == 0) {
            long gpos = 0;
            void *key, *value;
            while (unnamed > 0 && py->dict_next(globals, &gpos, &key, &value)) {
                const char *kind = NULL;
                const void *sem = lock_of(py, value, &kind, 0);
                struct fa_snap_lock *l = held_lock(s, sem);
                if (!l || l->py_name[0]) continue;
                l->py_kind = kind;
                const char *m = fa_python_utf8(py, modname), *k = fa_python_utf8(py, key);
                struct fa_buf b;
                fa_buf_fixed(&b, l->py_name, sizeof l->py_name);
                fa_puts(&b, m ? m : "?");
                fa_putc(&b, '.');
                fa_puts(&b, k ? k : "?");
                fa_buf_terminate(&b);
                unnamed--;
            }
        }
        if (globals) py->decref(globals);
    }
}

/* ------------------------------------------------------------- where locks were taken */

/* Copies n bytes at p, 0 when they are not mapped: the code object a lock's acquisition
 * left may have been freed since (a function that returned and was collected). */
static int read_memory(const void *p, void *out, size_t n) { return fa_read_memory(out, (uintptr_t)p, n) == 0; }

/* One frame of a lock's acquisition (track/pylocks.h): believed only when `code` is still
 * a live code object and `instr` lies in its bytecode. */
static int taken_frame(struct fa_snapshot *s, const struct fa_py_api *py, const void *code, const void *instr,
                       int slot)
{
    long head[3]; /* ob_refcnt, ob_type, ob_size */
    long basicsize = 0;
    if (!read_memory(code, head, sizeof head) || head[0] <= 0 || (const void *)head[1] != py->code_type) return 0;
    if (!read_memory((const char *)py->code_type + 32, &basicsize, sizeof basicsize)) return 0; /* tp_basicsize */
    long offset = (const char *)instr - ((const char *)code + basicsize);
    if (offset < 0 || offset >= head[2] * 2) return 0; /* 2-byte code units */
    struct fa_snap_py_taken *t = &s->py_taken[s->npy_taken];
    void *file = fa_python_attr(py, (void *)(uintptr_t)code, "co_filename");
    void *name = fa_python_attr(py, (void *)(uintptr_t)code, "co_name");
    copy(t->f[slot].file, sizeof t->f[slot].file, fa_python_utf8(py, file));
    copy(t->f[slot].function, sizeof t->f[slot].function, fa_python_utf8(py, name));
    if (file) py->decref(file);
    if (name) py->decref(name);
    t->f[slot].line = py->code_addr_to_line((void *)(uintptr_t)code, (int)offset);
    struct fa_py_frame f = {t->f[slot].file, strlen(t->f[slot].file), 0, NULL, 0, 0};
    t->f[slot].own = fa_pyframes_own(&f, s->py->stdlib_dir);
    return 1;
}

/* For each held Python lock whose last acquisition left its frames: file, line and
 * function of each, into s->py_taken. */
static void taken_sites(struct fa_snapshot *s, const struct fa_py_api *py)
{
    if (!fa_python_lock_code) return;
    for (int i = 0; i < s->nlocks && s->npy_taken < FA_SNAP_PY_LOCK_SITES; i++) {
        struct fa_snap_lock *l = &s->locks[i];
        struct fa_pylock_taken taken;
        if (l->held.type != FA_LOCK_SEM || !fa_pylock_taken(l->held.addr, &taken)) continue;
        struct fa_snap_py_taken *t = &s->py_taken[s->npy_taken];
        t->n = 0;
        for (int k = 0; k < FA_PYLOCK_FRAMES && taken.code[k]; k++)
            if (taken_frame(s, py, taken.code[k], taken.instr[k], t->n)) t->n++;
            else break;
        if (t->n) l->py_taken = ++s->npy_taken;
    }
}

static void stdlib_dir(struct fa_snapshot *s)
{
    copy(s->py->stdlib_dir, sizeof s->py->stdlib_dir, fa_python_stdlib_dir());
}

/* ------------------------------------------------------------- for the child */

#define FA_PY_SITES 64
static struct fa_py_site sites[FA_PY_SITES];
static const void *site_lock[FA_PY_SITES];
static int nsites;

int fa_python_site_of_lock(const void *lock, struct fa_py_site *out)
{
    for (int i = 0; i < nsites && i < FA_PY_SITES; i++)
        if (site_lock[i] == lock) {
            *out = sites[i];
            return 1;
        }
    return 0;
}

static void copy_n(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

static void remember_sites(const struct fa_snapshot *s)
{
    nsites = 0;
    for (int i = 0; i < s->nlocks && nsites < FA_PY_SITES; i++) {
        const struct fa_snap_lock *l = &s->locks[i];
        struct fa_py_frame f[FA_PY_MAX_FRAMES];
        int n = 0;
        if (l->holder_is_forking_thread || l->holder_self) /* 0: the dump's current thread */
            n = fa_pyframes_parse(s->py_text, s->py->text_len, l->holder_is_forking_thread ? 0 : l->holder_self,
                                  s->py->stdlib_dir, f, FA_PY_MAX_FRAMES);
        const struct fa_py_frame *site = fa_pyframes_site(f, n);
        if (!site && !l->py_kind) continue;
        struct fa_py_site *o = &sites[nsites];
        memset(o, 0, sizeof *o);
        if (site) {
            copy_n(o->file, sizeof o->file, site->file, site->file_len);
            copy_n(o->function, sizeof o->function, site->function, site->function_len);
            o->line = site->line;
        }
        if (l->py_taken > 0 && l->py_taken <= s->npy_taken) {
            const struct fa_snap_py_taken *t = &s->py_taken[l->py_taken - 1];
            int k = 0;
            while (k < t->n - 1 && !t->f[k].own) k++;
            copy(o->taken_file, sizeof o->taken_file, t->f[k].file);
            copy(o->taken_function, sizeof o->taken_function, t->f[k].function);
            o->taken_line = t->f[k].line;
        }
        copy(o->kind, sizeof o->kind, l->py_kind);
        copy(o->name, sizeof o->name, l->py_name);
        site_lock[nsites++] = l->held.addr;
    }
}

/* ------------------------------------------------------------- the capture */

static int holds_semaphore(const struct fa_snapshot *s)
{
    for (int i = 0; i < s->nlocks; i++)
        if (s->locks[i].held.type == FA_LOCK_SEM) return 1;
    return 0;
}

/* Every Python thread's stack, from faulthandler's writer: the costly part (a memfd and a
 * write per line), done only when a record or the child needs it. */
static void dump(struct fa_snapshot *s, const struct fa_py_api *py)
{
    s->py->text_len = dump_into(py, py->this_thread_state(), 1, s->py_text, FA_PY_TEXT_BYTES);
    s->py->dumped = 1;
}

/* With the object API: the threads' names, the standard library's directory, and the held
 * locks CPython repairs in the child (out of s->locks) or that have a Python name. */
static void judge(struct fa_snapshot *s, const struct fa_py_api *py)
{
    s->py->judged = 1;
    if (!fa_python_can_call(py)) return;
    void *type, *value, *tb;
    py->err_fetch(&type, &value, &tb);
    fa_python_io_capture(s, py);
    stdlib_dir(s);
    threading_state(s, py);
    logging_state(s, py);
    import_lock(s, py);
    int kept = 0;
    for (int i = 0; i < s->nlocks; i++) {
        if (s->locks[i].py_repaired) s->locks_protected++;
        else s->locks[kept++] = s->locks[i];
    }
    s->nlocks = kept;
    name_locks(s, py);
    taken_sites(s, py);
    py->err_restore(type, value, tb);
}

void fa_python_capture_before(struct fa_snapshot *s, const void *call_site)
{
    nsites = 0;
    const struct fa_py_api *py = fa_python();
    if (!py || !call_site || !fa_python_code(call_site) || !py->dump_threads || !py->is_initialized()) return;
    if (!py->this_thread_state() || !py->gil_check()) return;
    s->py_fork = 1;
    struct fa_snap_python *p = s->py;
    p->present = 1;
    p->judged = p->dumped = 0;
    p->forking_self = (unsigned long)pthread_self();
    p->nnames = 0;
    p->text_len = 0;
    p->stdlib_dir[0] = 0;
    fa_python_rng_capture(s, py); /* every Python fork: its entries decide whether a record is written */
    /* Judged now, at every Python fork: which held semaphores CPython repairs decides what
     * is reported, and so do the Python streams with output pending (whether a record is
     * written is decided before _after runs). os.fork() holds the import lock, a
     * semaphore, so this is mostly what the held semaphore asked for anyway. When one was
     * held, the child keeps where the holders of the locks left were. The stacks wait for
     * a record. */
    int semaphore = holds_semaphore(s);
    judge(s, py);
    if (!semaphore || !s->nlocks) return;
    dump(s, py);
    remember_sites(s);
}

/* multiprocessing's own threads (a Pool's handlers forking replacement workers) are how it
 * works, not the program's: counted, not listed. So are threads CPython started whose
 * thread state is gone (absent from a complete dump): they are ending, past their last
 * Python frame (a Pool's handler that has just returned). One listed without a frame may
 * be running a C function as its target: still reported. */
static void leave_out_process_machinery_threads(struct fa_snapshot *s)
{
    int kept = 0;
    int complete = s->py->dumped && fa_pyframes_dump_complete(s->py_text, s->py->text_len);
    for (int i = 0; i < s->nthreads; i++) {
        struct fa_py_frame f[FA_PY_MAX_FRAMES];
        const struct fa_snap_thread *t = &s->threads[i];
        unsigned long self = t->self == s->py->forking_self ? 0 : t->self;
        int n = self ? fa_pyframes_parse(s->py_text, s->py->text_len, self, s->py->stdlib_dir, f, FA_PY_MAX_FRAMES) : 0;
        if (n > 0 && fa_pyframes_process_machinery_thread(f, n)) s->threads_py_runtime++;
        else if (n == 0 && self && complete && t->start_routine && fa_python_code(t->start_routine) &&
                 !fa_pyframes_listed(s->py_text, s->py->text_len, self))
            s->threads_py_idle++;
        else s->threads[kept++] = s->threads[i];
    }
    s->nthreads = kept;
}

void fa_python_capture_after(struct fa_snapshot *s)
{
    if (!s->py_fork) return;
    if (!s->py->judged) judge(s, fa_python());
    if (!s->py->dumped) dump(s, fa_python());
    leave_out_process_machinery_threads(s);
}
