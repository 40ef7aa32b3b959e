/* fds.c: fds-at-fork (the descriptors a forked child inherits) and fds-leaked-at-exec
 * (the descriptors without close-on-exec that pass into an exec'd program): one record
 * each, listing the descriptors. */
#include "findings/finding.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "out/suppress.h"
#include "track/fdtrack.h"

/* The descriptor's Python opening site, innermost first; 0 frames when none was kept. */
static int python_site(const struct fa_snapshot *s, const struct fa_snap_fd *f, struct fa_py_frame *out, int max)
{
    if (f->py_site <= 0 || f->py_site > s->npy_fd_sites) return 0;
    const struct fa_pysite *site = &s->py_fd_sites[f->py_site - 1];
    return fa_pyframes_parse(site->text, site->len, 0, fa_finding_stdlib_dir(s), out, max);
}

/* A pipe, a socket or a temporary file opened from Python is named in a rule by its
 * opening line in the program's own code ("app.py:12"): its number or name changes every
 * run, its native site is the interpreter's (gunicorn's heartbeat file, a mkstemp name in
 * /tmp, was suggested as fds-at-fork:PyObject_Vectorcall: every Python descriptor). A
 * lasting path names itself. "" when it has no Python site. */
static void python_rule(const struct fa_snapshot *s, const struct fa_snap_fd *f, char *out, size_t cap)
{
    out[0] = 0;
    struct fa_py_frame py[FA_PYSITE_FRAMES];
    int npy = python_site(s, f, py, FA_PYSITE_FRAMES);
    const struct fa_py_frame *site = fa_pyframes_site(py, npy);
    if (!site || (f->target[0] == '/' && !fa_temporary_path(f->target))) return;
    /* no frame of the program's own (a server installed as a package): the innermost
     * outside the standard library (workertmp.py:23, not tempfile.py:395, which every
     * mkstemp of the process passes) */
    const char *stdlib = fa_finding_stdlib_dir(s);
    size_t stdlib_len = stdlib ? strlen(stdlib) : 0;
    for (int i = 0; !site->own && stdlib_len && i < npy; i++)
        if (py[i].file_len < stdlib_len || memcmp(py[i].file, stdlib, stdlib_len) != 0) {
            site = &py[i];
            break;
        }
    const char *base = site->file;
    for (size_t i = 0; i < site->file_len; i++)
        if (site->file[i] == '/') base = site->file + i + 1;
    struct fa_buf b;
    fa_buf_fixed(&b, out, cap);
    fa_putsn(&b, base, site->file_len - (size_t)(base - site->file));
    fa_putc(&b, ':');
    fa_put_dec(&b, site->line);
    fa_buf_terminate(&b);
}

static int entries(const struct fa_snapshot *s) { return s->nfds; }

/* A descriptor is named in a rule by its target, and by where it was opened. */
static void keys(const struct fa_snapshot *s, int i, struct fa_finding_keys *k)
{
    const struct fa_snap_fd *f = &s->fds[i];
    char rule[96];
    python_rule(s, f, rule, sizeof rule);
    if (rule[0]) { /* the target, then where it was opened: a rule may name either */
        struct fa_buf b;
        fa_buf_fixed(&b, k->text_buf, sizeof k->text_buf);
        fa_puts(&b, f->target);
        fa_puts(&b, " opened at ");
        fa_puts(&b, rule);
        fa_buf_terminate(&b);
        k->text = k->text_buf;
    } else {
        k->text = f->target;
    }
    k->pc[0] = f->frames;
    k->n[0] = f->nframes;
    k->nstacks = 1;
}

static void keep(struct fa_snapshot *s, int to, int from) { s->fds[to] = s->fds[from]; }

/* Why a descriptor a forked child shares is no hazard, or NULL when it is one: a regular
 * file open for writing without O_APPEND (parent and child move one offset: their
 * writes overwrite each other) and a connected stream socket (one conversation, two
 * processes) are; what prefork servers, pools and pipelines share on purpose is not. */
static const char *by_design(const struct fa_snap_fd *f)
{
    if (f->sock == FA_SOCK_CONNECTED) return NULL;
    if (f->sock == FA_SOCK_LISTENING) return "a listening socket";
    if (f->sock == FA_SOCK_PAIR) return "a socketpair end";
    if (f->sock) return "a socket";
    if (!S_ISREG(f->mode)) return f->type; /* pipes, devices, directories, event and epoll fds */
    if ((f->flags & O_ACCMODE) == O_RDONLY) return "a file open read-only";
    /* unlinked while open: a scratch or IPC file nobody else can open (tmpfile(), a
     * worker's heartbeat file), shared with the child on purpose */
    size_t n = strlen(f->target), d = sizeof " (deleted)" - 1;
    if (n > d && !strcmp(f->target + n - d, " (deleted)")) return "an unlinked file";
    if (f->append) return "a file open for appending";
    return NULL;
}

/* verbosity=1 (or fds=all) lists every descriptor; else those shared by design are counted. */
static void judge(struct fa_snapshot *s, const struct fa_options *o)
{
    if (o->verbosity >= 1 || o->fds == FA_FDS_ALL) return;
    int kept = 0;
    for (int i = 0; i < s->nfds; i++) {
        if (by_design(&s->fds[i])) s->fds_by_design++;
        else if (kept++ != i) s->fds[kept - 1] = s->fds[i];
    }
    s->nfds = kept;
}
static void set_entries(struct fa_snapshot *s, int n) { s->nfds = n; }
static int fork_records(const struct fa_snapshot *s) { return s->nfds > 0; }
static int exec_records(const struct fa_snapshot *s)
{
    return s->nfds > 0 || s->fds_dropped > 0 || s->fds_unchecked > 0;
}

/* What names a descriptor in a rule: its path; else (pipes, sockets: their numbers change
 * every run) where it was opened, or its kind of target. */
static const char *fd_pattern(const struct fa_snap_fd *f)
{
    if (f->target[0] == '/') return f->target;
    if (!strncmp(f->target, "pipe:", 5)) return "pipe:*";
    if (!strncmp(f->target, "socket:", 7)) return "socket:*";
    return f->target;
}

static void emit_json(struct fa_buf *b, const struct fa_finding_in *in)
{
    const struct fa_snapshot *s = in->s;
    fa_puts(b, ",\"fds\":[");
    int shown = 0;
    for (int i = 0; i < s->nfds; i++, shown++) {
        const struct fa_snap_fd *f = &s->fds[i];
        size_t mark = b->len;
        if (i) fa_putc(b, ',');
        fa_puts(b, "{\"fd\":");
        fa_put_dec(b, f->fd);
        fa_puts(b, ",\"target\":");
        fa_put_json_str(b, f->target);
        fa_puts(b, ",\"type\":\"");
        fa_puts(b, f->type);
        fa_puts(b, "\",\"access\":\"");
        fa_puts(b, fa_fd_access(f->flags));
        fa_puts(b, f->cloexec ? "\",\"cloexec\":true" : "\",\"cloexec\":false");
        if (f->offset >= 0) fa_record_json_int(b, "offset", f->offset);
        if (f->append) fa_puts(b, ",\"append\":true");
        if (in->kind == FA_KIND_FDS && by_design(f)) {
            fa_puts(b, ",\"shared_by_design\":");
            fa_put_json_str(b, by_design(f));
        }
        if (f->opened_by == fa_fd_inherited) {
            fa_puts(b, ",\"inherited\":true");
        } else if (f->opened_by) {
            fa_puts(b, ",\"opened_by\":\"");
            fa_puts(b, f->opened_by);
            fa_puts(b, "\",\"opened_at\":");
            fa_record_frames_json(b, f->frames, f->nframes);
        }
        struct fa_py_frame py[FA_PYSITE_FRAMES];
        fa_pystack_json(b, "python_opened_at", py, python_site(s, f, py, FA_PYSITE_FRAMES));
        char rule[96];
        python_rule(s, f, rule, sizeof rule);
        int by_text = (f->target[0] == '/' && !fa_temporary_path(f->target)) || rule[0];
        fa_record_suggestion_json(b, fa_kind_name(in->kind), by_text ? NULL : f->frames, by_text ? 0 : f->nframes,
                                  rule[0] ? rule : fd_pattern(f));
        fa_putc(b, '}');
        if (fa_record_list_entry_overflows(b, mark)) break;
    }
    fa_putc(b, ']');
    if (shown < s->nfds) fa_record_json_int(b, "fds_truncated", s->nfds - shown);
    if (s->fds_dropped) fa_record_json_int(b, "fds_dropped", (long long)s->fds_dropped);
    if (s->fds_untracked) fa_record_json_int(b, "fds_untracked", (long long)s->fds_untracked);
    if (s->fds_unchecked) fa_record_json_int(b, "fds_unchecked", (long long)s->fds_unchecked);
    if (s->fds_inherited) fa_record_json_int(b, "fds_inherited", (long long)s->fds_inherited);
    if (s->fds_by_design) fa_record_json_int(b, "fds_shared_by_design", (long long)s->fds_by_design);
}

static int same_frames(const uintptr_t *a, int na, const uintptr_t *b, int nb)
{
    return na == nb && memcmp(a, b, (size_t)na * sizeof a[0]) == 0;
}

static int same_python_site(const struct fa_snapshot *s, const struct fa_snap_fd *a, const struct fa_snap_fd *b)
{
    if (!a->py_site || !b->py_site) return a->py_site == b->py_site;
    const struct fa_pysite *x = &s->py_fd_sites[a->py_site - 1], *y = &s->py_fd_sites[b->py_site - 1];
    return x->len == y->len && memcmp(x->text, y->text, x->len) == 0;
}

/* One line per descriptor, its opening site below. At an exec every listed descriptor
 * lacks close-on-exec and the offset shared with a forked parent is beside the point. */
static void text_fd_list(struct fa_buf *b, const struct fa_finding_in *in, int at_exec)
{
    const struct fa_snapshot *s = in->s;
    pid_t pid = s->pid;
    int shown = 0;
    for (int i = 0; i < s->nfds; i++, shown++) {
        const struct fa_snap_fd *f = &s->fds[i];
        size_t mark = b->len;
        fa_record_prefix(b, pid);
        fa_puts(b, "  fd ");
        fa_put_dec(b, f->fd);
        fa_puts(b, " -> ");
        fa_puts(b, f->target);
        fa_puts(b, " (");
        fa_puts(b, f->type);
        fa_puts(b, ", ");
        fa_puts(b, fa_fd_access(f->flags));
        if (!at_exec)
            fa_puts(b, f->cloexec ? ", close-on-exec" : ", no close-on-exec: also leaks into exec'd programs");
        fa_puts(b, ")\n");
        if (f->offset >= 0 && !at_exec) {
            fa_record_prefix(b, pid);
            fa_puts(b, "    parent and child share this open file description and its offset (now ");
            fa_put_dec(b, f->offset);
            fa_puts(b, ")\n");
        }
        struct fa_py_frame py[FA_PYSITE_FRAMES];
        int npy = python_site(s, f, py, FA_PYSITE_FRAMES);
        if (f->opened_by == fa_fd_inherited) {
            fa_record_text_line(b, pid, "    inherited at exec: open when the process started, not opened by this program\n");
        } else if (f->opened_by) {
            fa_record_prefix(b, pid);
            fa_puts(b, "    opened by ");
            fa_puts(b, f->opened_by);
            const struct fa_snap_fd *prev = i > 0 ? &s->fds[i - 1] : NULL;
            if (prev && prev->opened_by && prev->opened_by != fa_fd_inherited && same_frames(prev->frames, prev->nframes, f->frames, f->nframes) &&
                same_python_site(s, prev, f)) {
                /* pipe and socketpair ends: say it once */
                fa_puts(b, " at the same place as fd ");
                fa_put_dec(b, prev->fd);
                fa_putc(b, '\n');
            } else if (npy > 0) { /* opened from Python: its Python frames, not the interpreter's */
                fa_puts(b, " at (Python, most recent call first; native frames in format=json):\n");
                fa_pystack_text(b, pid, NULL, "      ", py, npy);
            } else {
                fa_puts(b, " at:\n");
                fa_record_frames_text(b, pid, f->frames, f->nframes, "      ");
            }
        }
        char rule[96];
        python_rule(s, f, rule, sizeof rule);
        int by_text = (f->target[0] == '/' && !fa_temporary_path(f->target)) || rule[0];
        fa_record_suggestion_text(b, pid, "    ", fa_kind_name(in->kind), by_text ? NULL : f->frames,
                                  by_text ? 0 : f->nframes, rule[0] ? rule : fd_pattern(f));
        if (fa_record_list_entry_overflows(b, mark)) break;
    }
    fa_finding_list_end(b, s, "  ", s->nfds - shown, s->fds_dropped, "max_fds");
    if (s->fds_unchecked) {
        fa_record_prefix(b, pid);
        fa_puts(b, "  ... and up to ");
        fa_put_udec(b, s->fds_unchecked);
        fa_puts(b, " more: past max_fds, their close-on-exec flags were not read\n");
    }
    if (s->fds_by_design) {
        fa_record_prefix(b, pid);
        fa_puts(b, "  (");
        fa_put_udec(b, s->fds_by_design);
        fa_puts(b, s->fds_by_design == 1 ? " more descriptor is" : " more descriptors are");
        fa_puts(b, " shared by design (pipes, listening sockets, read-only or append-only files, devices): verbosity=1 lists them)\n");
    }
    if (s->fds_inherited) {
        fa_record_prefix(b, pid);
        fa_puts(b, "  (");
        fa_put_udec(b, s->fds_inherited);
        fa_puts(b, s->fds_inherited == 1 ? " more descriptor, inherited at exec, is" : " more descriptors, inherited at exec, are");
        fa_puts(b, " left out: not this program's doing; fds=all lists them)\n");
    }
    if (s->fds_untracked) {
        fa_record_prefix(b, pid);
        fa_puts(b, "  (");
        fa_put_udec(b, s->fds_untracked);
        fa_puts(b, s->fds_untracked == 1 ? " of them is" : " of them are");
        fa_puts(b, " numbered " FA_STR(FA_FD_TRACKED) " or above: no opening site is kept for those)\n");
    }
}

static void fork_text(struct fa_buf *b, const struct fa_finding_in *in)
{
    const struct fa_snapshot *s = in->s;
    fa_puts(b, "the child inherits ");
    fa_put_dec(b, s->nfds + (long long)s->fds_dropped);
    fa_puts(b, s->nfds + s->fds_dropped == 1 ? " file descriptor" : " file descriptors");
    fa_puts(b, " at ");
    fa_finding_fork_ref(b, s);
    fa_puts(b, "\n");
    text_fd_list(b, in, 0);
}

/* ,"exec":{"path":..,"argv0":..,"via":..}: the program about to run. */
static void exec_json_head(struct fa_buf *b, const struct fa_finding_in *in)
{
    const struct fa_snapshot *s = in->s;
    fa_puts(b, ",\"exec\":{\"path\":");
    fa_put_json_str(b, s->exec_path);
    if (s->exec_argv0) {
        fa_puts(b, ",\"argv0\":");
        fa_put_json_str(b, s->exec_argv0);
    }
    fa_puts(b, ",\"via\":\"");
    fa_puts(b, s->exec_via);
    fa_puts(b, "\"}");
}

static void exec_text(struct fa_buf *b, const struct fa_finding_in *in)
{
    const struct fa_snapshot *s = in->s;
    long long n = s->nfds + (long long)s->fds_dropped;
    fa_put_dec(b, n);
    if (s->fds_unchecked) {
        fa_puts(b, " (and up to ");
        fa_put_udec(b, s->fds_unchecked);
        fa_puts(b, " more)");
    }
    fa_puts(b, n == 1 && !s->fds_unchecked ? " file descriptor passes into " : " file descriptors pass into ");
    fa_puts(b, s->exec_path);
    fa_puts(b, " (");
    fa_puts(b, s->exec_via);
    fa_puts(b, ")\n");
    fa_record_text_line(b, s->pid, "  without close-on-exec they stay open in the new program (open them with O_CLOEXEC)\n");
    text_fd_list(b, in, 1);
    /* the exec's stack, in its own record */
    fa_record_prefix(b, s->pid);
    fa_puts(b, "  ");
    fa_puts(b, s->exec_via);
    fa_puts(b, " called by thread ");
    fa_put_dec(b, s->tid);
    fa_puts(b, " at:\n");
    fa_record_frames_text(b, s->pid, s->stack.pc, s->stack.n, "    ");
}

/* The fork note's part: descriptors left out, multiprocessing's own and those inherited
 * at exec. */
static void note_json(struct fa_buf *b, const struct fa_snapshot *s)
{
    if (s->fds_py_runtime) fa_record_json_int(b, "fds_python_runtime", (long long)s->fds_py_runtime);
    if (s->fds_inherited) fa_record_json_int(b, "fds_inherited", (long long)s->fds_inherited);
    if (s->fds_by_design) fa_record_json_int(b, "fds_shared_by_design", (long long)s->fds_by_design);
}

static void note_text(struct fa_buf *b, const struct fa_snapshot *s)
{
    if (s->fds_py_runtime) {
        fa_puts(b, " (");
        fa_put_udec(b, s->fds_py_runtime);
        fa_puts(b, " descriptors of multiprocessing's own machinery, shared with its workers by design)");
    }
    if (s->fds_inherited) {
        fa_puts(b, " (");
        fa_put_udec(b, s->fds_inherited);
        fa_puts(b, s->fds_inherited == 1 ? " descriptor" : " descriptors");
        fa_puts(b, " inherited at exec, not opened by this program: fds=all lists them)");
    }
    if (s->fds_by_design) {
        fa_puts(b, " (");
        fa_put_udec(b, s->fds_by_design);
        fa_puts(b, s->fds_by_design == 1 ? " descriptor" : " descriptors");
        fa_puts(b, " shared by design: verbosity=1 lists them)");
    }
}

const struct fa_finding fa_finding_FDS = {
    .entries = entries,
    .keys = keys,
    .keep = keep,
    .set_entries = set_entries,
    .judge = judge,
    .records = fork_records,
    .emit_json = emit_json,
    .emit_text = fork_text,
    .note_json = note_json,
    .note_text = note_text,
};

const struct fa_finding fa_finding_EXEC_FDS = {
    .entries = entries,
    .keys = keys,
    .keep = keep,
    .set_entries = set_entries,
    .records = exec_records,
    .json_head = exec_json_head,
    .emit_json = emit_json,
    .emit_text = exec_text,
};
