/* A library that protects its lock across fork with atfork handlers (prepare takes it,
 * parent and child release it), loaded with dlopen and unloaded with dlclose by
 * hostile_prog_dl: once it is gone, a fork must neither call its handlers (unmapped
 * code) nor name them in a record. The handlers count their runs for the program. */
#include <pthread.h>

static pthread_mutex_t atfork_lib_lock = PTHREAD_MUTEX_INITIALIZER;
static int prepare_runs, parent_runs;

static void hostile_atfork_prepare(void)
{
    pthread_mutex_lock(&atfork_lib_lock);
    prepare_runs++;
}

static void hostile_atfork_parent(void)
{
    parent_runs++;
    pthread_mutex_unlock(&atfork_lib_lock);
}

static void hostile_atfork_child(void) { pthread_mutex_unlock(&atfork_lib_lock); }

__attribute__((constructor)) static void hostile_atfork_lib_init(void)
{
    pthread_atfork(hostile_atfork_prepare, hostile_atfork_parent, hostile_atfork_child);
}

int hostile_atfork_prepare_runs(void) { return prepare_runs; }
int hostile_atfork_parent_runs(void) { return parent_runs; }
