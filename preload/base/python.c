/* python.c: see python.h. */
#include "base/python.h"

#include <dlfcn.h>
#include <link.h>
#include <string.h>

static struct fa_py_api api;
static const struct fa_py_api *found;
static uintptr_t code_lo, code_hi; /* the interpreter's executable segment */

struct range_search {
    uintptr_t addr, lo, hi;
};

static int segment_of(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct range_search *r = data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (r->addr >= lo && r->addr < hi) {
            r->lo = lo;
            r->hi = hi;
            return 1;
        }
    }
    return 0;
}

#define FIND(member, name) (*(void **)&api.member = dlsym(RTLD_DEFAULT, name))

/* "3.11.2 (main, ...)" -> 0x030b02f0 */
static unsigned long parse_version(const char *v)
{
    unsigned long part[3] = {0, 0, 0};
    for (int i = 0; i < 3 && v && *v >= '0' && *v <= '9'; i++) {
        while (*v >= '0' && *v <= '9') part[i] = part[i] * 10 + (unsigned long)(*v++ - '0');
        if (*v == '.') v++;
    }
    return part[0] << 24 | part[1] << 16 | part[2] << 8 | 0xf0;
}

static void look_up(void)
{
    memset(&api, 0, sizeof api);
    found = NULL;
    if (!dlsym(RTLD_DEFAULT, "Py_IsInitialized")) return; /* not Python: one lookup */
    if (!FIND(is_initialized, "Py_IsInitialized") || !FIND(gil_check, "PyGILState_Check") ||
        !FIND(this_thread_state, "PyGILState_GetThisThreadState"))
        return;
    const unsigned long *hex = dlsym(RTLD_DEFAULT, "Py_Version"); /* 3.11+ */
    const char *(*get_version)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "Py_GetVersion");
    api.version = hex ? *hex : get_version ? parse_version(get_version()) : 0;
    if (!FIND(dump_threads, "PyUnstable_DumpTracebackThreads")) FIND(dump_threads, "_Py_DumpTracebackThreads");
    if (!FIND(dump_one, "PyUnstable_DumpTraceback")) FIND(dump_one, "_Py_DumpTraceback");
    if (!FIND(current_thread_state, "PyThreadState_GetUnchecked")) FIND(current_thread_state, "_PyThreadState_UncheckedGet");
    FIND(sys_get_object, "PySys_GetObject");
    FIND(dict_get_item_string, "PyDict_GetItemString");
    FIND(dict_next, "PyDict_Next");
    FIND(generic_getattr, "PyObject_GenericGetAttr");
    FIND(unicode_from_string, "PyUnicode_FromString");
    FIND(unicode_as_utf8, "PyUnicode_AsUTF8");
    FIND(long_as_unsigned_long, "PyLong_AsUnsignedLong");
    FIND(decref, "Py_DecRef");
    FIND(list_size, "PyList_Size");
    FIND(list_get_item, "PyList_GetItem");
    FIND(weakref_get_object, "PyWeakref_GetObject");
    FIND(err_fetch, "PyErr_Fetch");
    FIND(err_restore, "PyErr_Restore");
    FIND(err_clear, "PyErr_Clear");
    api.acquire_lock_timed = dlsym(RTLD_DEFAULT, "PyThread_acquire_lock_timed");
    FIND(code_addr_to_line, "PyCode_Addr2Line");
    api.code_type = dlsym(RTLD_DEFAULT, "PyCode_Type");
    /* Read in Include/cpython/pystate.h and Include/internal/pycore_frame.h of 3.11 and 3.12
     * (checked with offsetof against 3.11.2, 3.11.7 and 3.12.1). 3.13 keeps the frame in the
     * thread state and its locks are not semaphores: nothing to take there. */
    unsigned long minor = api.version >> 16;
    if (minor == 0x030b) api.frame_layout.tstate_cframe = 56, api.frame_layout.cframe_frame = 8,
                         api.frame_layout.frame_code = 32, api.frame_layout.frame_previous = 48,
                         api.frame_layout.frame_instr = 56, api.frame_layout.frame_owner = -1;
    if (minor == 0x030c) api.frame_layout.tstate_cframe = 56, api.frame_layout.cframe_frame = 0,
                         api.frame_layout.frame_code = 0, api.frame_layout.frame_previous = 8,
                         api.frame_layout.frame_instr = 56, api.frame_layout.frame_owner = 70;
    found = &api;
}

uintptr_t fa_python_lock_code, fa_python_lock_code_size;

void fa_python_look_up(void)
{
    look_up();
    code_lo = code_hi = 0;
    fa_python_lock_code = fa_python_lock_code_size = 0;
    if (!found) return;
    struct range_search r = {(uintptr_t)api.is_initialized, 0, 0};
    dl_iterate_phdr(segment_of, &r);
    code_lo = r.lo;
    code_hi = r.hi;
    if (api.frame_layout.tstate_cframe && api.code_addr_to_line && api.code_type) {
        fa_python_lock_code = code_lo;
        fa_python_lock_code_size = code_hi - code_lo;
    }
}

const struct fa_py_api *fa_python(void) { return found; }

int fa_python_code(const void *pc) { return (uintptr_t)pc >= code_lo && (uintptr_t)pc < code_hi; }

int fa_python_can_call(const struct fa_py_api *py)
{
    if (!py || py->version < 0x03080000 || py->version >= 0x030d0000) return 0;
    if (!py->sys_get_object || !py->dict_get_item_string || !py->dict_next || !py->generic_getattr ||
        !py->unicode_from_string || !py->unicode_as_utf8 || !py->long_as_unsigned_long || !py->decref ||
        !py->err_fetch || !py->err_restore || !py->err_clear)
        return 0;
    if (!py->is_initialized() || !py->gil_check()) return 0;
    void *mine = py->this_thread_state();
    return mine != NULL && (!py->current_thread_state || py->current_thread_state() == mine);
}

/* os.__file__'s directory, read once with the object API (sys.modules["os"], always there
 * once the interpreter runs) and kept: the standard library does not move. */
static char stdlib_dir[256];

const char *fa_python_stdlib_dir(void)
{
    if (stdlib_dir[0] || !fa_python_can_call(found)) return stdlib_dir;
    const struct fa_py_api *py = found;
    void *type, *value, *tb;
    py->err_fetch(&type, &value, &tb);
    void *modules = py->sys_get_object("modules");
    void *os = modules ? py->dict_get_item_string(modules, "os") : NULL;
    void *name = os ? py->unicode_from_string("__file__") : NULL;
    void *file = name ? py->generic_getattr(os, name) : NULL;
    const char *path = file ? py->unicode_as_utf8(file) : NULL;
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (slash && (size_t)(slash - path + 1) < sizeof stdlib_dir) {
        memcpy(stdlib_dir, path, (size_t)(slash - path + 1));
        stdlib_dir[slash - path + 1] = 0;
    }
    if (file) py->decref(file);
    if (name) py->decref(name);
    py->err_clear();
    py->err_restore(type, value, tb);
    return stdlib_dir;
}

const char *fa_python_stdlib_dir_kept(void) { return stdlib_dir; }

/* PyObject: ob_refcnt, ob_type; PyTypeObject: PyVarObject (refcnt, type, size), then
 * tp_name. The same in every release with the GIL (free-threaded builds are never called). */
const char *fa_python_type_name(const void *obj)
{
    if (!obj) return "";
    const char *type = ((const char *const *)obj)[1];
    const char *name = type ? ((const char *const *)type)[3] : NULL;
    return name ? name : "";
}

void *fa_python_attr(const struct fa_py_api *py, void *obj, const char *name)
{
    if (!obj) return NULL;
    void *n = py->unicode_from_string(name);
    void *v = n ? py->generic_getattr(obj, n) : NULL;
    if (n) py->decref(n);
    if (!v) py->err_clear();
    return v;
}

const char *fa_python_utf8(const struct fa_py_api *py, void *str)
{
    if (!str || strcmp(fa_python_type_name(str), "str") != 0) return NULL;
    const char *t = py->unicode_as_utf8(str);
    if (!t) py->err_clear();
    return t;
}
