/* python_io.c: see python_io.h.
 *
 * CPython's io objects keep their buffers in private structs (Modules/_io/textio.c,
 * bufferedio.c, fileio.c). What is read of them is anchored on the offsets their types
 * publish in tp_members (the PyMemberDefs behind `buffer`, `raw`, `_finalizing`, ...):
 * the struct is believed only when every published offset is the one of the layout
 * checked below, which is the same in every release from 3.8 to 3.12 (read in the
 * sources; measured on 3.8.18, 3.9.18, 3.10.13, 3.11.2, 3.11.7 and 3.12.1). Any other
 * layout, or an object that is not exactly one of the io types, is left alone. Nothing
 * here calls a method, a property or __getattr__: only dictionary lookups (sys.modules,
 * module globals) and plain loads, so nothing is flushed and no output changes. Nor does
 * it write to the objects (no reference taken): after a fork every page the parent
 * writes to faults once, and an incref per module cost ~1 us each. Measured on 3.11: a
 * bare `python3 -c` program, 0.02 ms a fork; one with 262 modules and 12,438 globals,
 * 0.13 ms (0.37 ms when __dict__ was read by getattr), against a 2.2 ms os.fork(). */
#include "audit/python_io.h"

#include <string.h>
#include <sys/types.h>

#include "audit/stdio_streams.h"
#include "base/fmt.h"

/* PyObject: ob_refcnt, ob_type. PyTypeObject (public, the same 3.8-3.14 without
 * Py_TRACE_REFS): tp_basicsize is its 5th word, tp_members its 31st. PyMemberDef:
 * {const char *name; int type; Py_ssize_t offset; int flags; const char *doc;}. */
#define OB_TYPE 8
#define TP_BASICSIZE 32
#define TP_MEMBERS 240
#define MEMBER_SIZE 40
#define MEMBER_OFFSET 16
#define MEMBERS_LOOKED_AT 32

/* textio (TextIOWrapper), 3.8-3.12: PyObject_HEAD; int ok, detached; Py_ssize_t chunk_size;
 * PyObject *buffer (member "buffer"), *encoding, *encoder, *decoder, *readnl, *errors;
 * const char *writenl; char line_buffering ("line_buffering"), write_through
 * ("write_through"), readuniversal, readtranslate, writetranslate, seekable, has_read1,
 * telling, finalizing ("_finalizing"); encodefunc_t encodefunc; char
 * encoding_start_of_stream; PyObject *decoded_chars; Py_ssize_t decoded_chars_used;
 * PyObject *pending_bytes; Py_ssize_t pending_bytes_count; ... */
#define TEXT_OK 16
#define TEXT_DETACHED 20
#define TEXT_BUFFER 32
#define TEXT_LINE_BUFFERING 88
#define TEXT_WRITE_THROUGH 89
#define TEXT_FINALIZING 96
#define TEXT_PENDING_BYTES 136
#define TEXT_PENDING_COUNT 144

/* buffered (BufferedWriter, BufferedRandom), 3.8-3.12: PyObject_HEAD; PyObject *raw
 * ("raw"); int ok, detached, readable, writable; char finalizing ("_finalizing"); int
 * fast_closed_checks; Py_off_t abs_pos; char *buffer; Py_off_t pos, raw_pos, read_end,
 * write_pos, write_end; PyThread_type_lock lock; volatile unsigned long owner; Py_ssize_t
 * buffer_size; ... The bytes not yet written are buffer[write_pos, write_end), when
 * write_end is not -1 (_bufferedwriter_flush_unlocked writes exactly those). */
#define BUF_RAW 16
#define BUF_OK 24
#define BUF_DETACHED 28
#define BUF_WRITABLE 36
#define BUF_FINALIZING 40
#define BUF_WRITE_POS 88
#define BUF_WRITE_END 96
#define BUF_SIZE 120

/* PyModuleObject: PyObject_HEAD; PyObject *md_dict (member "__dict__", at 16 in 3.8-3.14). */
#define MODULE_DICT 16

/* fileio (FileIO), 3.8-3.12: PyObject_HEAD; int fd; unsigned bit fields; char finalizing
 * ("_finalizing", at 21); unsigned int blksize ("_blksize"); ... fd is -1 once closed. */
#define FILE_FD 16
#define FILE_FINALIZING 21
#define FILE_BLKSIZE 24

/* The globals looked at per fork, at most: the walk stops there (a program with that many
 * module globals is not common; its streams past the limit are not seen). */
#define GLOBALS_LOOKED_AT 65536

static const void *type_of(const void *obj) { return *(const void *const *)((const char *)obj + OB_TYPE); }
static const void *ptr_at(const void *obj, long off) { return *(const void *const *)((const char *)obj + off); }
static long long i64_at(const void *obj, long off) { return *(const long long *)((const char *)obj + off); }
static int i32_at(const void *obj, long off) { return *(const int *)((const char *)obj + off); }
static char char_at(const void *obj, long off) { return *((const char *)obj + off); }

/* The offset the type publishes for member `name`, -1 when it publishes none. */
static long member(const void *type, const char *name)
{
    const char *m = ptr_at(type, TP_MEMBERS);
    for (int i = 0; m && i < MEMBERS_LOOKED_AT; i++, m += MEMBER_SIZE) {
        const char *n = *(const char *const *)m;
        if (!n) break;
        if (strcmp(n, name) == 0) return (long)*(const ssize_t *)(m + MEMBER_OFFSET);
    }
    return -1;
}

static int basicsize_at_least(const void *type, long n) { return (long)*(const ssize_t *)((const char *)type + TP_BASICSIZE) >= n; }

/* The io types of the running interpreter (exact types: a subclass is not read), each
 * NULL when its layout is not the one above; and the module type. */
struct io_types {
    const void *text, *writer, *random, *fileio, *module;
};

/* A module's globals (borrowed), NULL when `mod` is not exactly a module. */
static void *module_dict(const struct io_types *t, const void *mod)
{
    if (!mod || type_of(mod) != t->module) return NULL;
    void *dict = (void *)ptr_at(mod, MODULE_DICT);
    return dict && strcmp(fa_python_type_name(dict), "dict") == 0 ? dict : NULL;
}

static const void *io_type(const struct fa_py_api *py, void *dict, const char *name)
{
    const void *t = py->dict_get_item_string(dict, name); /* borrowed */
    return t && strcmp(fa_python_type_name(t), "type") == 0 ? t : NULL;
}

static int text_layout(const void *t)
{
    return t && member(t, "buffer") == TEXT_BUFFER && member(t, "line_buffering") == TEXT_LINE_BUFFERING &&
           member(t, "write_through") == TEXT_WRITE_THROUGH && member(t, "_finalizing") == TEXT_FINALIZING &&
           basicsize_at_least(t, TEXT_PENDING_COUNT + 8);
}

static int buffered_layout(const void *t)
{
    return t && member(t, "raw") == BUF_RAW && member(t, "_finalizing") == BUF_FINALIZING &&
           basicsize_at_least(t, BUF_SIZE + 8);
}

static int fileio_layout(const void *t)
{
    return t && member(t, "_finalizing") == FILE_FINALIZING && member(t, "_blksize") == FILE_BLKSIZE &&
           basicsize_at_least(t, FILE_BLKSIZE + 4);
}

/* 0 when the io module or the layout of its FileIO is not known: nothing can be read. */
static int find_io_types(const struct fa_py_api *py, struct io_types *t)
{
    memset(t, 0, sizeof *t);
    void *modules = py->sys_get_object("modules"); /* borrowed */
    if (!modules || strcmp(fa_python_type_name(modules), "dict") != 0) return 0;
    const void *io = py->dict_get_item_string(modules, "_io");
    if (!io || strcmp(fa_python_type_name(io), "module") != 0) return 0;
    t->module = type_of(io);
    if (member(t->module, "__dict__") != MODULE_DICT) return 0;
    void *dict = module_dict(t, io);
    if (!dict) return 0;
    t->text = io_type(py, dict, "TextIOWrapper");
    t->writer = io_type(py, dict, "BufferedWriter");
    t->random = io_type(py, dict, "BufferedRandom");
    t->fileio = io_type(py, dict, "FileIO");
    if (!text_layout(t->text)) t->text = NULL;
    if (!buffered_layout(t->writer)) t->writer = NULL;
    if (!buffered_layout(t->random)) t->random = NULL;
    if (!fileio_layout(t->fileio)) t->fileio = NULL;
    return t->fileio != NULL;
}

/* What one io object holds and where it goes, read in place. */
struct pyio {
    const void *obj;      /* what the program holds: the TextIOWrapper, or a bare buffered */
    const void *buffered; /* its BufferedWriter/BufferedRandom, NULL when the text goes to a FileIO */
    const char *type;
    unsigned long text_pending, buffered_pending, buffer_size;
    int fd, buffering;
};

/* The unwritten bytes of a buffered object, -1 when it is not one that can be read. */
static long long buffered_pending(const struct io_types *t, const void *b, int *fd)
{
    if (i32_at(b, BUF_OK) != 1 || i32_at(b, BUF_DETACHED) != 0 || !i32_at(b, BUF_WRITABLE)) return -1;
    const void *raw = ptr_at(b, BUF_RAW);
    if (!raw || type_of(raw) != t->fileio) return -1; /* a socket's SocketIO, a Python raw class */
    *fd = i32_at(raw, FILE_FD);
    long long pos = i64_at(b, BUF_WRITE_POS), end = i64_at(b, BUF_WRITE_END), size = i64_at(b, BUF_SIZE);
    if (end == -1) return 0; /* not set up for writing yet */
    if (size <= 0 || pos < 0 || pos > end || end > size) return -1;
    return end - pos;
}

/* 1 when `obj` is exactly an io.TextIOWrapper, BufferedWriter or BufferedRandom over a
 * FileIO, read into *io. */
static int read_io(const struct io_types *t, const void *obj, struct pyio *io)
{
    memset(io, 0, sizeof *io);
    io->obj = obj;
    io->buffering = FA_STREAM_FULLY_BUFFERED;
    const void *type = type_of(obj);
    const void *b = obj;
    if (type && type == t->text) {
        if (i32_at(obj, TEXT_OK) != 1 || i32_at(obj, TEXT_DETACHED) != 0) return 0;
        long long count = i64_at(obj, TEXT_PENDING_COUNT);
        if (count < 0 || (count > 0 && !ptr_at(obj, TEXT_PENDING_BYTES))) return 0;
        io->type = "io.TextIOWrapper";
        io->text_pending = (unsigned long)count;
        if (char_at(obj, TEXT_LINE_BUFFERING)) io->buffering = FA_STREAM_LINE_BUFFERED;
        b = ptr_at(obj, TEXT_BUFFER);
        if (!b) return 0;
        if (type_of(b) == t->fileio) { /* python -u, PYTHONUNBUFFERED: no buffered layer */
            io->fd = i32_at(b, FILE_FD);
            if (char_at(obj, TEXT_WRITE_THROUGH) && io->buffering != FA_STREAM_LINE_BUFFERED)
                io->buffering = FA_STREAM_UNBUFFERED;
            return io->fd >= 0;
        }
        type = type_of(b);
    } else {
        io->type = type == t->writer ? "io.BufferedWriter" : "io.BufferedRandom";
    }
    if (!type || (type != t->writer && type != t->random)) return 0;
    long long pending = buffered_pending(t, b, &io->fd);
    if (pending < 0 || io->fd < 0) return 0;
    io->buffered = b;
    io->buffered_pending = (unsigned long)pending;
    io->buffer_size = (unsigned long)i64_at(b, BUF_SIZE);
    return 1;
}

/* The entry already made for this object or its buffer, NULL when none. */
static struct fa_snap_stream *entry_of(struct fa_snapshot *s, const struct pyio *io)
{
    for (int i = 0; i < s->nstreams; i++) {
        struct fa_snap_stream *st = &s->streams[i];
        if (st->python && (st->file == io->obj || (io->buffered && st->py_buffer == io->buffered))) return st;
    }
    return NULL;
}

/* Adds `obj` when it is a Python stream with bytes pending: named `name` (static) or, for
 * a module global, module.key. */
static void add(struct fa_snapshot *s, const struct io_types *t, const void *obj, const char *name, const char *module,
                const char *key)
{
    struct pyio io;
    if (!obj || !read_io(t, obj, &io) || io.text_pending + io.buffered_pending == 0) return;
    struct fa_snap_stream *st = entry_of(s, &io);
    /* met before: keep it, unless it was a bare buffer and this is the text stream over it */
    if (st && !(st->file == st->py_buffer && io.obj != io.buffered)) return;
    if (!st) {
        if (s->nstreams >= FA_MAX_STREAMS) {
            s->streams_dropped++;
            return;
        }
        st = &s->streams[s->nstreams++];
    }
    memset(st, 0, sizeof *st);
    st->python = 1;
    st->file = io.obj;
    st->py_buffer = io.buffered;
    st->py_type = io.type;
    st->name = name;
    if (!name) {
        struct fa_buf b;
        fa_buf_fixed(&b, st->py_name, sizeof st->py_name);
        fa_puts(&b, module ? module : "?");
        fa_putc(&b, '.');
        fa_puts(&b, key ? key : "?");
        fa_buf_terminate(&b);
    }
    st->fd = io.fd;
    st->buffering = io.buffering;
    st->pending = io.text_pending + io.buffered_pending;
    st->py_text_pending = io.text_pending;
    st->py_buffered_pending = io.buffered_pending;
    st->buffer_size = io.buffer_size;
    fa_stream_describe_target(st);
}

static const char *utf8(const struct fa_py_api *py, void *str)
{
    if (!str || strcmp(fa_python_type_name(str), "str") != 0) return NULL;
    const char *u = py->unicode_as_utf8(str);
    if (!u) py->err_clear();
    return u;
}

/* io objects bound to module globals (the program's `log = open(...)`). */
static void globals(struct fa_snapshot *s, const struct fa_py_api *py, const struct io_types *t)
{
    void *modules = py->sys_get_object("modules");
    if (!modules || strcmp(fa_python_type_name(modules), "dict") != 0) return;
    long pos = 0, looked = 0;
    void *modname, *mod;
    while (looked < GLOBALS_LOOKED_AT && py->dict_next(modules, &pos, &modname, &mod)) {
        void *dict = module_dict(t, mod);
        long gpos = 0;
        void *key, *value;
        while (dict && looked++ < GLOBALS_LOOKED_AT && py->dict_next(dict, &gpos, &key, &value)) {
            const void *type = type_of(value);
            if (!type || (type != t->text && type != t->writer && type != t->random)) continue;
            add(s, t, value, NULL, utf8(py, modname), utf8(py, key));
        }
    }
}

void fa_python_io_capture(struct fa_snapshot *s, const struct fa_py_api *py)
{
    if (!fa_python_can_call(py) || py->version < 0x03080000 || py->version >= 0x030d0000) return;
    struct io_types t;
    if (find_io_types(py, &t)) {
        static const char *const standard[][2] = {
            {"stdout", "sys.stdout"}, {"stderr", "sys.stderr"}, {"__stdout__", "sys.__stdout__"}, {"__stderr__", "sys.__stderr__"}};
        for (size_t i = 0; i < sizeof standard / sizeof standard[0]; i++)
            add(s, &t, py->sys_get_object(standard[i][0]), standard[i][1], NULL, NULL);
        globals(s, py, &t);
    }
}
