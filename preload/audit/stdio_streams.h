/* stdio_streams.h: the C stdio streams that hold output not yet written, captured at a fork
 * (stdio-unflushed-at-fork). */
#ifndef FA_AUDIT_STDIO_STREAMS_H
#define FA_AUDIT_STDIO_STREAMS_H

#include "audit/snapshot.h"

/* Fills s->streams (and nstreams, streams_dropped, streams_unchecked) from glibc's list of
 * streams, without its lock; s->pid and the other threads (s->nthreads, threads_dropped)
 * must be known. Async-signal-safe: system calls and plain memory only. */
void fa_capture_streams(struct fa_snapshot *s);

/* Fills st's target, type and opening site from its descriptor (st->fd): where it leads,
 * and where it was opened when the auditor saw it. Async-signal-safe. */
void fa_stream_describe_target(struct fa_snap_stream *st);

#endif
