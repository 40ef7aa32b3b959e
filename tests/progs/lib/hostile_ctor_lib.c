/* A library whose constructor runs before forkaudit's: the program (hostile_prog_ctor)
 * links it as DT_NEEDED, and ld.so runs the initialisers of the program's own
 * dependencies before those of LD_PRELOAD objects (checked by the test with
 * LD_DEBUG=libs: "calling init"). The constructor takes and releases a mutex, then starts
 * a thread that takes ctor_kept_lock and keeps it until the program lets it go, so the
 * program's fork finds a thread and a held lock that were made before the auditor's
 * constructor ran. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_mutex_t ctor_brief_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t ctor_kept_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t kept;
static pthread_t thread;
static int release_pipe[2];
static long thread_tid;

static void take_kept_lock(void) { pthread_mutex_lock(&ctor_kept_lock); }

static void *ctor_thread_main(void *arg)
{
    (void)arg;
    thread_tid = syscall(SYS_gettid);
    take_kept_lock();
    pthread_barrier_wait(&kept);
    char c;
    if (read(release_pipe[0], &c, 1) != 1) abort();
    pthread_mutex_unlock(&ctor_kept_lock);
    return NULL;
}

static void start_thread_holding_lock(void)
{
    if (pipe(release_pipe) != 0) abort();
    pthread_barrier_init(&kept, NULL, 2);
    pthread_create(&thread, NULL, ctor_thread_main, NULL);
    pthread_barrier_wait(&kept); /* the lock is held when the constructor returns */
}

__attribute__((constructor)) static void hostile_ctor_lib_init(void)
{
    pthread_mutex_lock(&ctor_brief_lock);
    pthread_mutex_unlock(&ctor_brief_lock);
    start_thread_holding_lock();
}

long hostile_ctor_thread_tid(void) { return thread_tid; }
void *hostile_ctor_kept_lock(void) { return &ctor_kept_lock; }
void *hostile_ctor_brief_lock(void) { return &ctor_brief_lock; }

/* Lets the thread release its lock and end. */
void hostile_ctor_release(void)
{
    if (write(release_pipe[1], "x", 1) != 1) abort();
    pthread_join(thread, NULL);
}
