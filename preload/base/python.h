/* python.h: CPython's C API, found at run time in the process (dlsym), never linked: one
 * library serves /usr/bin/python3 (the API exported by the executable), an --enable-shared
 * build (libpython3.x.so) and a C program that embeds Python. A process without these
 * symbols is not Python and pays one lookup at start-up. */
#ifndef FA_PYTHON_H
#define FA_PYTHON_H

#include <stddef.h>
#include <stdint.h>

/* The functions forkaudit calls; `PyObject *` and the thread and interpreter states are
 * opaque here (void *). Members are NULL when the interpreter lacks them. */
struct fa_py_api {
    unsigned long version;   /* PY_VERSION_HEX (Py_Version, or parsed from Py_GetVersion) */
    int (*is_initialized)(void);
    int (*gil_check)(void);                   /* PyGILState_Check */
    void *(*this_thread_state)(void);         /* PyGILState_GetThisThreadState */
    void *(*current_thread_state)(void);      /* the GIL holder's (_PyThreadState_UncheckedGet), may be NULL */
    /* faulthandler's async-signal-safe traceback writers */
    const char *(*dump_threads)(int fd, void *interp, void *current); /* _Py_DumpTracebackThreads */
    void (*dump_one)(int fd, void *tstate);   /* _Py_DumpTraceback */
    /* the object API, called only by the thread that holds the GIL */
    void *(*sys_get_object)(const char *name);                /* PySys_GetObject: borrowed */
    void *(*dict_get_item_string)(void *dict, const char *key); /* borrowed */
    int (*dict_next)(void *dict, long *pos, void **key, void **value);
    void *(*generic_getattr)(void *obj, void *name);           /* PyObject_GenericGetAttr: new */
    void *(*unicode_from_string)(const char *s);               /* new */
    const char *(*unicode_as_utf8)(void *str);
    unsigned long (*long_as_unsigned_long)(void *o);
    long (*list_size)(void *list);
    void *(*list_get_item)(void *list, long i);               /* borrowed */
    void *(*weakref_get_object)(void *ref);                   /* borrowed (None when dead) */
    void (*decref)(void *o);                                   /* Py_DecRef */
    void (*err_fetch)(void **type, void **value, void **tb);
    void (*err_restore)(void *type, void *value, void *tb);
    void (*err_clear)(void);
    void *acquire_lock_timed;  /* PyThread_acquire_lock_timed, compared with acquisition sites */
    int (*code_addr_to_line)(void *code, int byte_offset); /* PyCode_Addr2Line */
    const void *code_type;     /* &PyCode_Type */
    /* Where a thread's innermost Python frame is, for the releases whose layout is known
     * (3.11, 3.12: from their internal headers): PyThreadState's cframe, _PyCFrame's
     * current_frame, _PyInterpreterFrame's f_code, previous and prev_instr; the code
     * object's bytecode starts at PyCode_Type's tp_basicsize. 0 in tstate_cframe: unknown. */
    struct {
        long tstate_cframe, cframe_frame, frame_code, frame_previous, frame_instr;
        long frame_owner; /* 3.12: a byte, FRAME_OWNED_BY_CSTACK (3) for the C stack's shim frames; -1 none */
    } frame_layout;
};
/* The interpreter's code, [lo, lo + size), when its frame layout is known (else 0, 0): a
 * semaphore taken from there is a Python lock's (PyThread_acquire_lock_timed, inlined by
 * LTO into threading.Lock.acquire and RLock.acquire in Debian's build). */
extern uintptr_t fa_python_lock_code, fa_python_lock_code_size;

/* Looks for the interpreter: at start-up (one dlsym when the process is not Python) and
 * after a dlopen (an embedding program may load libpython). Not async-signal-safe. */
void fa_python_look_up(void);

/* The API found by the last look-up, NULL when the process runs no CPython. Async-signal-safe. */
const struct fa_py_api *fa_python(void);

/* 1 when `pc` lies in the interpreter's own code (the executable or libpython that exports
 * the API): a fork called from there is os.fork() or another call of the runtime's, not a
 * C signal handler's. Async-signal-safe. */
int fa_python_code(const void *pc);

/* 1 when the calling thread may use the object API now: the interpreter runs, this thread
 * holds the GIL, and the version is one whose layouts forkaudit knows (3.8 to 3.12). */
int fa_python_can_call(const struct fa_py_api *py);

/* The standard library's directory ("/usr/lib/python3.11/"), "" while unknown: found with
 * the object API the first time a thread that may call it asks, then kept. */
const char *fa_python_stdlib_dir(void);
/* The same, without looking: "" when not found yet. Async-signal-safe. */
const char *fa_python_stdlib_dir_kept(void);

/* A Python object's type name (tp_name), "" when unknown. Needs the GIL. */
const char *fa_python_type_name(const void *obj);
/* obj.name (a new reference; generic attribute lookup, no __getattr__), or NULL with no
 * exception left set. Needs the GIL. */
void *fa_python_attr(const struct fa_py_api *py, void *obj, const char *name);
/* A str's UTF-8 (borrowed), or NULL (not a str, or it failed: no exception left set). Needs the GIL. */
const char *fa_python_utf8(const struct fa_py_api *py, void *str);

#endif
